package pgmeta

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/meta"
)

var (
	relationshipsSQL = mustSQL("relationships.sql")
	schemaNamesSQL   = mustSQL("schema_names.sql")
)

// relationship is postgres-meta's PostgresRelationship: a foreign key seen from the relation
// holding it, for tables and for the views that show a foreign key's columns.
type relationship struct {
	ForeignKeyName     string   `json:"foreign_key_name"`
	Schema             string   `json:"schema"`
	Relation           string   `json:"relation"`
	Columns            []string `json:"columns"`
	IsOneToOne         bool     `json:"is_one_to_one"`
	ReferencedSchema   string   `json:"referenced_schema"`
	ReferencedRelation string   `json:"referenced_relation"`
	ReferencedColumns  []string `json:"referenced_columns"`
}

// relationships serves GET /relationships.
func (s *Service) relationships(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	p, err := parseList(r.URL.Query())
	if err != nil {
		return err
	}
	var rels []relationship
	err = s.snapshot(r.Context(), func(tx pgx.Tx) error {
		rels, err = loadRelationships(r.Context(), tx, p)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, rels)
}

// snapshot runs fn in a read-only REPEATABLE READ transaction, so that several catalog
// queries see one state of the schema.
func (s *Service) snapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// loadRelationships lists the relationships of the schemas p selects: the foreign keys of
// their tables, and, found the way PostgREST finds them (internal/meta), those of their views
// that show every column of a foreign key on either side.
func loadRelationships(ctx context.Context, tx pgx.Tx, p listParams) ([]relationship, error) {
	included, excluded := p.schemaFilter(true)
	args := pgx.NamedArgs{"included": included, "excluded": excluded, "include_system": p.includeSystemSchemas}
	body, err := jsonArray(ctx, tx, query{sql: relationshipsSQL, args: args})
	if err != nil {
		return nil, err
	}
	var rels []relationship
	if err := json.Unmarshal(body, &rels); err != nil {
		return nil, fmt.Errorf("pgmeta: decode relationships: %w", err)
	}
	var schemas []string
	if err := tx.QueryRow(ctx, schemaNamesSQL, args).Scan(&schemas); err != nil {
		return nil, fmt.Errorf("pgmeta: schema names: %w", err)
	}
	snap, err := meta.Inspect(ctx, tx, schemas)
	if err != nil {
		return nil, err
	}
	isView := func(q meta.QName) bool {
		t := snap.Table(q.Schema, q.Name)
		return t != nil && t.IsView()
	}
	for _, schema := range schemas {
		for _, t := range snap.Tables(schema) {
			for _, rel := range t.Relationships {
				if !rel.Referencing || !(t.IsView() || isView(rel.Foreign)) {
					continue
				}
				rels = append(rels, relationship{
					ForeignKeyName: rel.Constraint, Schema: rel.Table.Schema, Relation: rel.Table.Name,
					Columns: rel.Columns, IsOneToOne: rel.Cardinality == meta.OneToOne,
					ReferencedSchema: rel.Foreign.Schema, ReferencedRelation: rel.Foreign.Name, ReferencedColumns: rel.ForeignColumns,
				})
			}
		}
	}
	slices.SortStableFunc(rels, func(a, b relationship) int {
		return cmp.Or(cmp.Compare(a.Schema, b.Schema), cmp.Compare(a.Relation, b.Relation),
			cmp.Compare(a.ForeignKeyName, b.ForeignKeyName), cmp.Compare(a.ReferencedSchema, b.ReferencedSchema),
			cmp.Compare(a.ReferencedRelation, b.ReferencedRelation),
			cmp.Compare(strings.Join(a.Columns, ","), strings.Join(b.Columns, ",")),
			cmp.Compare(strings.Join(a.ReferencedColumns, ","), strings.Join(b.ReferencedColumns, ",")))
	})
	if rels == nil {
		rels = []relationship{}
	}
	return rels, nil
}

// writeJSON sends v encoded.
func writeJSON(w http.ResponseWriter, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("pgmeta: encode: %w", err)
	}
	return writeRaw(w, http.StatusOK, buf.Bytes())
}
