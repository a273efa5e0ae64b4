package meta

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// The catalog queries, one file each so they can be read and run on their own with psql.
var (
	//go:embed sql/relations.sql
	relationsSQL string
	//go:embed sql/columns.sql
	columnsSQL string
	//go:embed sql/keys.sql
	keysSQL string
	//go:embed sql/functions.sql
	functionsSQL string
	//go:embed sql/types.sql
	typesSQL string
	//go:embed sql/computed.sql
	computedSQL string
	//go:embed sql/views.sql
	viewsSQL string
	//go:embed sql/computed_relationships.sql
	computedRelationshipsSQL string
)

// Querier is what Inspect reads the catalogs through: a connection, pool or transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Inspect reads the catalogs of schemas through q and builds a Schema. Run it inside one
// REPEATABLE READ transaction (as Inspector does) for a consistent snapshot.
func Inspect(ctx context.Context, q Querier, schemas []string) (*Schema, error) {
	s := &Schema{
		Schemas:   slices.Clone(schemas),
		LoadedAt:  time.Now(),
		tables:    map[QName]*Table{},
		functions: map[QName][]*Function{},
		types:     map[string]QName{},
	}
	l := &linker{s: s, byOID: map[uint32]*Table{}}
	steps := []struct {
		name string
		load func(context.Context, Querier, *Schema) error
	}{
		{"relations", l.loadRelations},
		{"columns", loadColumns},
		{"views", l.loadViews},
		{"keys", l.loadKeys},
		{"computed relationships", loadComputedRelationships},
		{"functions", loadFunctions},
		{"computed fields", loadComputedFields},
		{"types", loadTypes},
		{"role settings", loadRoleSettings},
	}
	for _, step := range steps {
		if err := step.load(ctx, q, s); err != nil {
			return nil, fmt.Errorf("meta: load %s: %w", step.name, err)
		}
	}
	return s, nil
}

func (l *linker) loadRelations(ctx context.Context, q Querier, s *Schema) error {
	rows, err := q.Query(ctx, relationsSQL, s.Schemas)
	if err != nil {
		return err
	}
	var (
		t    Table
		oid  int64
		mask int32
	)
	_, err = pgx.ForEachRow(rows, []any{&oid, &t.Schema, &t.Name, &t.Kind, &t.Description, &mask}, func() error {
		table := t
		table.Insertable = mask&8 != 0
		table.Updatable = mask&4 != 0
		table.Deletable = mask&16 != 0
		table.columns = map[string]*Column{}
		table.computed = map[string]*ComputedField{}
		table.oid = uint32(oid)
		s.tables[table.QName] = &table
		l.byOID[uint32(oid)] = &table
		return nil
	})
	return err
}

func loadColumns(ctx context.Context, q Querier, s *Schema) error {
	rows, err := q.Query(ctx, columnsSQL, s.Schemas)
	if err != nil {
		return err
	}
	var (
		schema, table string
		c             Column
		def           *string
		maxLen        *int32
	)
	_, err = pgx.ForEachRow(rows, []any{&schema, &table, &c.Name, &c.Position, &c.Type, &c.BaseType,
		&c.Nullable, &def, &c.Identity, &c.Generated, &c.Description, &maxLen, &c.Enum, &c.Updatable}, func() error {
		t := s.tables[QName{schema, table}]
		if t == nil {
			return nil
		}
		col := c
		col.Enum = slices.Clone(c.Enum)
		col.Default, col.HasDefault = "", false
		if def != nil {
			col.Default, col.HasDefault = *def, true
		}
		col.MaxLength = 0
		if maxLen != nil {
			col.MaxLength = int(*maxLen)
		}
		t.Columns = append(t.Columns, &col)
		t.columns[col.Name] = &col
		return nil
	})
	return err
}

func loadFunctions(ctx context.Context, q Querier, s *Schema) error {
	rows, err := q.Query(ctx, functionsSQL, s.Schemas)
	if err != nil {
		return err
	}
	var (
		f                              Function
		returnKind, relSchema, relName string
		defaults                       int32
		argTypes, argBase, argNames    []string
		argModes                       []string
	)
	_, err = pgx.ForEachRow(rows, []any{&f.OID, &f.Schema, &f.Name, &f.Description, &f.Volatility, &f.ReturnsSet,
		&f.ReturnType, &returnKind, &relSchema, &relName, &defaults, &argTypes, &argBase, &argNames, &argModes}, func() error {
		fn := f
		fn.Params, fn.OutColumns, fn.ReturnTable = nil, nil, nil
		if relName != "" {
			fn.ReturnTable = &QName{relSchema, relName}
		}
		fn.ReturnsComposite = returnKind == "c" || fn.ReturnType == "record"
		for i, typ := range argTypes {
			p := Param{Type: typ}
			if i < len(argBase) {
				p.BaseType = argBase[i]
			}
			if i < len(argNames) {
				p.Name = argNames[i]
			}
			mode := "i"
			if i < len(argModes) {
				mode = argModes[i]
			}
			switch mode {
			case "i", "b", "v":
				p.Variadic = mode == "v"
				fn.Params = append(fn.Params, p)
			}
			if mode == "o" || mode == "b" || mode == "t" {
				fn.OutColumns = append(fn.OutColumns, p)
			}
		}
		// The last pronargdefaults input parameters have defaults.
		for i := len(fn.Params) - int(defaults); i < len(fn.Params); i++ {
			if i >= 0 {
				fn.Params[i].HasDefault = true
			}
		}
		// A single OUT column makes PostgreSQL return that column's type, not a row.
		if len(fn.OutColumns) == 1 && fn.ReturnType != "record" {
			fn.OutColumns = nil
		}
		if !callable(fn.Params) {
			return nil
		}
		key := fn.QName
		s.functions[key] = append(s.functions[key], &fn)
		return nil
	})
	for _, overloads := range s.functions {
		slices.SortFunc(overloads, compareOverloads)
	}
	return err
}

// compareOverloads orders the overloads of a function as PostgREST does (and so lists them
// in its errors): fewer parameters first, then by the parameters' names and types in order.
func compareOverloads(a, b *Function) int {
	if c := cmp.Compare(len(a.Params), len(b.Params)); c != 0 {
		return c
	}
	for i := range a.Params {
		if c := cmp.Or(cmp.Compare(a.Params[i].Name, b.Params[i].Name), cmp.Compare(a.Params[i].Type, b.Params[i].Type)); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.OID, b.OID)
}

func loadTypes(ctx context.Context, q Querier, s *Schema) error {
	rows, err := q.Query(ctx, typesSQL, s.Schemas)
	if err != nil {
		return err
	}
	var schema, name string
	_, err = pgx.ForEachRow(rows, []any{&schema, &name}, func() error {
		// pg_catalog is read first (ORDER BY schema puts it before most user schemas); a user
		// type of the same name does not shadow a built-in one.
		if _, taken := s.types[name]; !taken || schema == "pg_catalog" {
			s.types[name] = QName{schema, name}
		}
		return nil
	})
	return err
}

func loadComputedFields(ctx context.Context, q Querier, s *Schema) error {
	rows, err := q.Query(ctx, computedSQL, s.Schemas)
	if err != nil {
		return err
	}
	var (
		schema, table string
		f             ComputedField
	)
	_, err = pgx.ForEachRow(rows, []any{&schema, &table, &f.Function.Schema, &f.Function.Name, &f.Type, &f.BaseType}, func() error {
		t := s.tables[QName{schema, table}]
		if t == nil {
			return nil
		}
		field := f
		field.Name = f.Function.Name
		// The first exposed schema defining the name wins, except that a function living
		// next to its table beats one from another schema.
		if prev := t.computed[field.Name]; prev != nil && (prev.Function.Schema == t.Schema || field.Function.Schema != t.Schema) {
			return nil
		}
		t.computed[field.Name] = &field
		t.ComputedFields = slices.DeleteFunc(t.ComputedFields, func(c *ComputedField) bool { return c.Name == field.Name })
		t.ComputedFields = append(t.ComputedFields, &field)
		return nil
	})
	return err
}

// loadComputedRelationships adds the relationships that functions define. As in PostgREST,
// one named like a relation replaces the foreign-key relationships of its argument's relation
// to that relation, so a function can override what the keys say.
func loadComputedRelationships(ctx context.Context, q Querier, s *Schema) error {
	rows, err := q.Query(ctx, computedRelationshipsSQL, s.Schemas)
	if err != nil {
		return err
	}
	var (
		table, fn, foreign QName
		toOne              bool
	)
	_, err = pgx.ForEachRow(rows, []any{&table.Schema, &table.Name, &fn.Schema, &fn.Name, &foreign.Schema, &foreign.Name, &toOne}, func() error {
		t := s.tables[table]
		if t == nil || s.tables[foreign] == nil {
			return nil
		}
		card := OneToMany
		if toOne {
			card = ManyToOne
		}
		function := fn
		t.Relationships = slices.DeleteFunc(t.Relationships, func(r *Relationship) bool {
			return r.Function == nil && r.Foreign == function
		})
		t.Relationships = append(t.Relationships, &Relationship{Table: table, Foreign: foreign, Cardinality: card, Function: &function})
		return nil
	})
	return err
}

// callable reports whether RPC can call a function with these input parameters, by PostgREST's
// rule: arguments are passed by name, so every parameter needs one, except that a function
// whose only parameter is unnamed and of type json, jsonb, text, xml or bytea receives the
// request body whole. Other functions are left out of the schema cache, as in PostgREST
// (they are still computed fields or relationships if they qualify as such).
func callable(params []Param) bool {
	unnamed := 0
	for _, p := range params {
		if p.Name == "" {
			unnamed++
		}
	}
	switch {
	case unnamed == 0:
		return true
	case unnamed == 1 && len(params) == 1:
		return IsRawBodyType(params[0].Type)
	}
	return false
}

// IsRawBodyType reports whether a function's single unnamed parameter of this type (as
// format_type spells it) receives the whole request body.
func IsRawBodyType(typ string) bool {
	switch typ {
	case "json", "jsonb", "text", "xml", "bytea":
		return true
	}
	return false
}
