package pgmeta

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// The parts of postgres-meta's shapes the TypeScript generator reads, decoded from the same
// catalog queries the list routes answer with.
type (
	tsSchema struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	tsRelation struct {
		ID          int64  `json:"id"`
		Schema      string `json:"schema"`
		Name        string `json:"name"`
		IsUpdatable bool   `json:"is_updatable"`
	}
	tsColumn struct {
		TableID            int64           `json:"table_id"`
		Name               string          `json:"name"`
		Format             string          `json:"format"`
		DefaultValue       json.RawMessage `json:"default_value"`
		IsIdentity         bool            `json:"is_identity"`
		IdentityGeneration *string         `json:"identity_generation"`
		IsNullable         bool            `json:"is_nullable"`
		IsUpdatable        bool            `json:"is_updatable"`
	}
	tsArg struct {
		Mode       string `json:"mode"`
		Name       string `json:"name"`
		TypeID     int64  `json:"type_id"`
		HasDefault bool   `json:"has_default"`
	}
	tsFunction struct {
		ID                     int64    `json:"id"`
		Schema                 string   `json:"schema"`
		Name                   string   `json:"name"`
		Args                   []tsArg  `json:"args"`
		ArgumentTypes          string   `json:"argument_types"`
		ReturnTypeID           int64    `json:"return_type_id"`
		ReturnType             string   `json:"return_type"`
		ReturnTypeRelationID   *int64   `json:"return_type_relation_id"`
		IsSetReturningFunction bool     `json:"is_set_returning_function"`
		Prorows                *float64 `json:"prorows"`
	}
	tsAttribute struct {
		Name   string `json:"name"`
		TypeID int64  `json:"type_id"`
	}
	tsType struct {
		ID             int64         `json:"id"`
		Name           string        `json:"name"`
		Schema         string        `json:"schema"`
		Format         string        `json:"format"`
		Enums          []string      `json:"enums"`
		Attributes     []tsAttribute `json:"attributes"`
		TypeRelationID *int64        `json:"type_relation_id"`
	}
)

// tsInput is everything the generator needs, read in one snapshot.
type tsInput struct {
	schemas                                    []tsSchema
	tables, foreignTables, views, materialized []tsRelation
	columns                                    []tsColumn
	relationships                              []relationship
	functions                                  []tsFunction
	types                                      []tsType
}

// resourceByPath finds one of the catalog resources.
func resourceByPath(path string) resource {
	i := slices.IndexFunc(resources, func(r resource) bool { return r.path == path })
	return resources[i]
}

// loadTSInput reads, for the schemas p selects, what postgres-meta's getGeneratorMetadata
// reads: schemas, relations without their columns, the columns apart, relationships,
// functions (not trigger functions), and every type of every schema, row types included.
func loadTSInput(ctx context.Context, tx pgx.Tx, p listParams) (tsInput, error) {
	var in tsInput
	bare := false
	p.includeColumns = &bare
	read := func(path string, into any, adjust func(q query)) error {
		q := resourceByPath(path).listQuery(p)
		if adjust != nil {
			adjust(q)
		}
		body, err := jsonArray(ctx, tx, q)
		if err != nil {
			return fmt.Errorf("pgmeta: typescript: read %s: %w", path, err)
		}
		if err := json.Unmarshal(body, into); err != nil {
			return fmt.Errorf("pgmeta: typescript: decode %s: %w", path, err)
		}
		return nil
	}
	steps := []struct {
		path   string
		into   any
		adjust func(q query)
	}{
		{"schemas", &in.schemas, nil},
		{"tables", &in.tables, nil},
		{"foreign-tables", &in.foreignTables, nil},
		{"views", &in.views, nil},
		{"materialized-views", &in.materialized, nil},
		{"columns", &in.columns, nil},
		{"functions", &in.functions, nil},
		{"types", &in.types, func(q query) {
			q.args["included"], q.args["excluded"] = []string{}, []string{}
			q.args["include_table_types"], q.args["include_array_types"] = true, true
		}},
	}
	for _, st := range steps {
		if err := read(st.path, st.into, st.adjust); err != nil {
			return in, err
		}
	}
	// Foreign tables and materialized views leave no schema out by default; the generator
	// covers the same schemas everywhere.
	in.foreignTables = slices.DeleteFunc(in.foreignTables, func(r tsRelation) bool { return !in.hasSchema(r.Schema) })
	in.materialized = slices.DeleteFunc(in.materialized, func(r tsRelation) bool { return !in.hasSchema(r.Schema) })
	in.functions = slices.DeleteFunc(in.functions, func(f tsFunction) bool {
		return f.ReturnType == "trigger" || f.ReturnType == "event_trigger"
	})
	rels, err := loadRelationships(ctx, tx, p)
	if err != nil {
		return in, err
	}
	in.relationships = rels
	return in, nil
}

func (in tsInput) hasSchema(name string) bool {
	return slices.ContainsFunc(in.schemas, func(s tsSchema) bool { return s.Name == name })
}
