package pgmeta

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

// indexName reads an index's schema and name, which postgres-meta's index shape lacks.
func indexName(ctx context.Context, tx pgx.Tx, id int64) ([]byte, string, string, error) {
	body, err := oldItem(ctx, tx, "indexes", pgx.NamedArgs{"ids": []int64{id}}, notFound("Cannot find an index with ID %d", id), nil)
	if err != nil {
		return nil, "", "", err
	}
	var schema, name string
	if err := tx.QueryRow(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`, id).Scan(&schema, &name); err != nil {
		return nil, "", "", fmt.Errorf("pgmeta: read index name: %w", err)
	}
	return body, schema, name, nil
}

type indexChange struct {
	TableID        *int64   `json:"table_id"`
	Schema         *string  `json:"schema"`
	Table          *string  `json:"table"`
	Name           *string  `json:"name"`
	Columns        []string `json:"columns"`
	IsUnique       bool     `json:"is_unique"`
	AccessMethod   *string  `json:"access_method"`
	IndexPredicate *string  `json:"index_predicate"`
	Comment        *string  `json:"comment"`
}

// createIndex serves POST /indexes (Go Forward's; postgres-meta lists indexes only):
// {table_id or schema and table, name, columns, is_unique, access_method, index_predicate,
// comment}.
func (s *Service) createIndex(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b indexChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if len(b.Columns) == 0 {
		return badRequest("columns must name at least one column")
	}
	if b.TableID == nil && deref(b.Table, "") == "" {
		return badRequest("table or table_id is required")
	}
	method := deref(b.AccessMethod, "btree")
	if !wordPattern.MatchString(method) {
		return badRequest("%q is not an access method", method)
	}
	cols := make([]string, len(b.Columns))
	for i, c := range b.Columns {
		cols[i] = ident(c)
	}
	return s.apply(w, r, p, change{action: "meta.index.create", resourceType: "index",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			schema, table := deref(b.Schema, "public"), deref(b.Table, "")
			var tableID int64
			if b.TableID != nil {
				_, t, err := readTable(ctx, tx, *b.TableID)
				if err != nil {
					return plan{}, err
				}
				schema, table, tableID = t.Schema, t.Name, t.ID
			} else if err := tx.QueryRow(ctx, `SELECT coalesce(to_regclass($1)::oid::int8, 0)`, ident(schema, table)).Scan(&tableID); err != nil {
				return plan{}, err
			}
			sql := "CREATE " + pick(b.IsUnique, "UNIQUE INDEX", "INDEX")
			if b.Name != nil {
				sql += " " + ident(*b.Name)
			}
			sql += " ON " + ident(schema, table) + " USING " + method + " (" + strings.Join(cols, ", ") + ")"
			if b.IndexPredicate != nil {
				sql += " WHERE " + *b.IndexPredicate
			}
			var before []int64
			rows, err := tx.Query(ctx, `SELECT indexrelid::int8 FROM pg_index WHERE indrelid = $1`, tableID)
			if err == nil {
				before, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			}
			if err != nil {
				return plan{}, fmt.Errorf("pgmeta: read indexes: %w", err)
			}
			if before == nil {
				before = []int64{}
			}
			pl := plan{resourceID: schema + "." + table, stmts: []stmt{{sql: sql}},
				result: byID("indexes", `SELECT indexrelid::int8 FROM pg_index WHERE indrelid = to_regclass($1) AND indexrelid::int8 <> ALL($2::int8[])`,
					ident(schema, table), before)}
			if b.Comment != nil {
				c, err := literal(*b.Comment)
				if err != nil {
					return pl, err
				}
				if b.Name == nil {
					return pl, badRequest("a comment needs the index's name")
				}
				pl.stmts = append(pl.stmts, sqlf("COMMENT ON INDEX %s IS %s", ident(schema, *b.Name), c))
			}
			return pl, nil
		}})
}

// updateIndex serves PATCH /indexes/{id}: {comment, name}.
func (s *Service) updateIndex(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "an index")
	if err != nil {
		return err
	}
	var b indexChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.index.update", resourceType: "index",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, schema, name, err := indexName(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: strconv.FormatInt(id, 10), result: func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				body, _, _, err := indexName(ctx, tx, id)
				return body, err
			}}
			if b.Comment != nil {
				c, err := literal(*b.Comment)
				if err != nil {
					return pl, err
				}
				pl.stmts = append(pl.stmts, sqlf("COMMENT ON INDEX %s IS %s", ident(schema, name), c))
			}
			if b.Name != nil && *b.Name != name {
				pl.stmts = append(pl.stmts, sqlf("ALTER INDEX %s RENAME TO %s", ident(schema, name), ident(*b.Name)))
			}
			return pl, nil
		}})
}

// deleteIndex serves DELETE /indexes/{id}?cascade=.
func (s *Service) deleteIndex(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "an index")
	if err != nil {
		return err
	}
	mode, err := cascade(r)
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.index.delete", resourceType: "index",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, schema, name, err := indexName(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: schema + "." + name, before: body, stmts: []stmt{sqlf("DROP INDEX %s %s", ident(schema, name), mode)}}, nil
		}})
}
