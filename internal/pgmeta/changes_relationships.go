package pgmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

// relationshipCreate is the original design's Relationship: a foreign key from
// source_table.source_column to target_table.target_column (the target's primary key when
// not named), one-to-many or one-to-one (the source column unique too), or a many-to-many
// junction table between source and target. Tables are "schema.table" or "table" (public).
type relationshipCreate struct {
	Type          string  `json:"relationship_type"`
	SourceTable   string  `json:"source_table"`
	SourceColumn  *string `json:"source_column"`
	TargetTable   string  `json:"target_table"`
	TargetColumn  *string `json:"target_column"`
	JunctionTable *string `json:"junction_table"`
	OnUpdate      *string `json:"on_update"`
	OnDelete      *string `json:"on_delete"`
}

var referentialActions = []string{"NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"}

func qualified(name string) (schema, table string) {
	if s, t, ok := strings.Cut(name, "."); ok {
		return s, t
	}
	return "public", name
}

// junctionName is where a many-to-many's junction table goes: junction_table read as the
// other tables are ("schema.table", or "table" in the source's schema rather than public,
// since the junction belongs with its source), or <source>_<target> beside the source.
func junctionName(name *string, srcSchema, fallback string) (schema, table string) {
	if name == nil || *name == "" {
		return srcSchema, fallback
	}
	if s, t, ok := strings.Cut(*name, "."); ok {
		return s, t
	}
	return srcSchema, *name
}

// keyColumn is a column a relationship references, with its type.
type keyColumn struct{ name, typ string }

// referencedColumn finds the target column: the one named, or the single-column primary key.
func referencedColumn(ctx context.Context, tx pgx.Tx, schema, table string, column *string) (keyColumn, error) {
	var k keyColumn
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) OVER (), a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
  AND CASE WHEN $2::text IS NULL
    THEN EXISTS (SELECT FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY(i.indkey))
    ELSE a.attname = $2 END`, ident(schema, table), column).Scan(&n, &k.name, &k.typ)
	switch {
	case errors.Is(err, pgx.ErrNoRows) && column != nil:
		return k, badRequest("column %q of %s.%s does not exist", *column, schema, table)
	case errors.Is(err, pgx.ErrNoRows):
		return k, badRequest("%s.%s has no primary key: name the column to reference", schema, table)
	case err != nil:
		return k, fmt.Errorf("pgmeta: read key column: %w", err)
	case n > 1:
		return k, badRequest("%s.%s has a primary key of %d columns: name the column to reference", schema, table, n)
	}
	return k, nil
}

// createRelationship serves POST /relationships: the foreign keys (and for many-to-many the
// junction table with both foreign keys and a composite primary key) in one transaction,
// answering with the relationships made, in GET /relationships' shape.
func (s *Service) createRelationship(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b relationshipCreate
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if err := oneOf("relationship_type", b.Type, "one_to_one", "one_to_many", "many_to_many"); err != nil {
		return err
	}
	if err := required("source_table", b.SourceTable); err != nil {
		return err
	}
	if err := required("target_table", b.TargetTable); err != nil {
		return err
	}
	defaultAction := pick(b.Type == "many_to_many", "CASCADE", "NO ACTION")
	onUpdate, onDelete := strings.ToUpper(deref(b.OnUpdate, defaultAction)), strings.ToUpper(deref(b.OnDelete, defaultAction))
	if err := oneOf("on_update", onUpdate, referentialActions...); err != nil {
		return err
	}
	if err := oneOf("on_delete", onDelete, referentialActions...); err != nil {
		return err
	}
	actions := " ON UPDATE " + onUpdate + " ON DELETE " + onDelete
	srcSchema, srcTable := qualified(b.SourceTable)
	tgtSchema, tgtTable := qualified(b.TargetTable)
	return s.apply(w, r, p, change{action: "meta.relationship.create", resourceType: "relationship",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			target, err := referencedColumn(ctx, tx, tgtSchema, tgtTable, b.TargetColumn)
			if err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: b.Type + ":" + srcSchema + "." + srcTable + "->" + tgtSchema + "." + tgtTable}
			holderSchema, holder := srcSchema, srcTable
			if b.Type == "many_to_many" {
				source, err := referencedColumn(ctx, tx, srcSchema, srcTable, b.SourceColumn)
				if err != nil {
					return plan{}, err
				}
				holderSchema, holder = junctionName(b.JunctionTable, srcSchema, srcTable+"_"+tgtTable)
				a, c := srcTable+"_"+source.name, tgtTable+"_"+target.name
				if a == c {
					c = "other_" + c
				}
				pl.stmts = append(pl.stmts, sqlf("CREATE TABLE %s (%s %s NOT NULL REFERENCES %s (%s)%s, %s %s NOT NULL REFERENCES %s (%s)%s, PRIMARY KEY (%s, %s))",
					ident(holderSchema, holder),
					ident(a), source.typ, ident(srcSchema, srcTable), ident(source.name), actions,
					ident(c), target.typ, ident(tgtSchema, tgtTable), ident(target.name), actions,
					ident(a), ident(c)))
			} else {
				col := deref(b.SourceColumn, tgtTable+"_"+target.name)
				var exists bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped)`,
					ident(srcSchema, srcTable), col).Scan(&exists); err != nil {
					return plan{}, err
				}
				alter := "ALTER TABLE " + ident(srcSchema, srcTable)
				if !exists {
					pl.stmts = append(pl.stmts, sqlf("%s ADD COLUMN %s %s", alter, ident(col), target.typ))
				}
				pl.stmts = append(pl.stmts, sqlf("%s ADD FOREIGN KEY (%s) REFERENCES %s (%s)%s", alter, ident(col), ident(tgtSchema, tgtTable), ident(target.name), actions))
				if b.Type == "one_to_one" {
					pl.stmts = append(pl.stmts, sqlf("%s ADD UNIQUE (%s)", alter, ident(col)))
				}
			}
			before, err := foreignKeys(ctx, tx, holderSchema, holder)
			if err != nil {
				return plan{}, err
			}
			pl.result = func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				after, err := foreignKeys(ctx, tx, holderSchema, holder)
				if err != nil {
					return nil, err
				}
				made := slices.DeleteFunc(after, func(n string) bool { return slices.Contains(before, n) })
				rels, err := loadRelationships(ctx, tx, listParams{included: []string{holderSchema}, excluded: []string{}})
				if err != nil {
					return nil, err
				}
				out := []relationship{}
				for _, rel := range rels {
					if rel.Schema == holderSchema && rel.Relation == holder && slices.Contains(made, rel.ForeignKeyName) {
						out = append(out, rel)
					}
				}
				return json.Marshal(out)
			}
			return pl, nil
		}})
}

// foreignKeys names the foreign keys of a table (none when it does not exist yet).
func foreignKeys(ctx context.Context, tx pgx.Tx, schema, table string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = to_regclass($1)`, ident(schema, table))
	if err != nil {
		return nil, fmt.Errorf("pgmeta: read foreign keys: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
