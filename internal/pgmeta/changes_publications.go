package pgmeta

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

type publicationRef struct {
	Name            string `json:"name"`
	PublishInsert   bool   `json:"publish_insert"`
	PublishUpdate   bool   `json:"publish_update"`
	PublishDelete   bool   `json:"publish_delete"`
	PublishTruncate bool   `json:"publish_truncate"`
	Tables          *[]struct {
		ID int64 `json:"id"`
	} `json:"tables"`
}

func readPublication(ctx context.Context, tx pgx.Tx, id int64) ([]byte, publicationRef, error) {
	var pr publicationRef
	body, err := oldItem(ctx, tx, "publications", pgx.NamedArgs{"ids": []int64{id}}, notFound("Cannot find a publication with ID %d", id), &pr)
	return body, pr, err
}

type publicationChange struct {
	Name            *string `json:"name"`
	Owner           *string `json:"owner"`
	PublishInsert   *bool   `json:"publish_insert"`
	PublishUpdate   *bool   `json:"publish_update"`
	PublishDelete   *bool   `json:"publish_delete"`
	PublishTruncate *bool   `json:"publish_truncate"`
	// Tables: absent leaves them; null means FOR ALL TABLES; a list ("schema.table" or
	// "table") is exactly the tables published.
	Tables json.RawMessage `json:"tables"`
}

// tableList quotes "schema.table" or "table" names, split at the first dot as postgres-meta
// does.
func tableList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		if schema, table, ok := strings.Cut(n, "."); ok {
			out[i] = ident(schema, table)
		} else {
			out[i] = ident(n)
		}
	}
	return strings.Join(out, ", ")
}

// tablesField decodes the tables field: all is true for null.
func (b publicationChange) tablesField() (tables []string, all, given bool, err error) {
	if b.Tables == nil {
		return nil, false, false, nil
	}
	if string(b.Tables) == "null" {
		return nil, true, true, nil
	}
	if err := json.Unmarshal(b.Tables, &tables); err != nil {
		return nil, false, false, badRequest("tables must be a list of table names or null")
	}
	return tables, false, true, nil
}

func publishList(insert, update, del, truncate bool) string {
	var ops []string
	for _, op := range []struct {
		on   bool
		name string
	}{{insert, "insert"}, {update, "update"}, {del, "delete"}, {truncate, "truncate"}} {
		if op.on {
			ops = append(ops, op.name)
		}
	}
	return "'" + strings.Join(ops, ",") + "'"
}

// createPublication serves POST /publications.
func (s *Service) createPublication(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b publicationChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	name := deref(b.Name, "")
	if err := required("name", name); err != nil {
		return err
	}
	tables, all, given, err := b.tablesField()
	if err != nil {
		return err
	}
	sql := "CREATE PUBLICATION " + ident(name)
	switch {
	case !given || all:
		sql += " FOR ALL TABLES"
	case len(tables) > 0:
		sql += " FOR TABLE " + tableList(tables)
	}
	sql += " WITH (publish = " + publishList(deref(b.PublishInsert, false), deref(b.PublishUpdate, false),
		deref(b.PublishDelete, false), deref(b.PublishTruncate, false)) + ")"
	return s.apply(w, r, p, change{action: "meta.publication.create", resourceType: "publication",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			return plan{resourceID: name, stmts: []stmt{{sql: sql}},
				result: byID("publications", `SELECT oid::int8 FROM pg_publication WHERE pubname = $1`, name)}, nil
		}})
}

// updatePublication serves PATCH /publications/{id}: the tables (a publication switches
// between a list and ALL TABLES only by being made again), what it publishes, the owner,
// then the name. Studio turns realtime on and off for a table by changing the tables of
// supabase_realtime this way.
func (s *Service) updatePublication(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a publication")
	if err != nil {
		return err
	}
	var b publicationChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	tables, all, given, err := b.tablesField()
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.publication.update", resourceType: "publication",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, old, err := readPublication(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			pub := ident(old.Name)
			pl := plan{resourceID: strconv.FormatInt(id, 10)}
			recreated := false
			if given {
				oldAll := old.Tables == nil
				switch {
				case all && !oldAll:
					pl.stmts = append(pl.stmts, sqlf("DROP PUBLICATION %s", pub), sqlf("CREATE PUBLICATION %s FOR ALL TABLES", pub))
					recreated = true
				case !all && oldAll:
					pl.stmts = append(pl.stmts, sqlf("DROP PUBLICATION %s", pub), sqlf("CREATE PUBLICATION %s", pub))
					recreated = true
					if len(tables) > 0 {
						pl.stmts = append(pl.stmts, sqlf("ALTER PUBLICATION %s ADD TABLE %s", pub, tableList(tables)))
					}
				case !all && len(tables) > 0:
					pl.stmts = append(pl.stmts, sqlf("ALTER PUBLICATION %s SET TABLE %s", pub, tableList(tables)))
				case !all && len(*old.Tables) > 0:
					ids := make([]string, len(*old.Tables))
					for i, t := range *old.Tables {
						ids[i] = strconv.FormatInt(t.ID, 10)
					}
					var names string
					if err := tx.QueryRow(ctx, `SELECT string_agg(oid::regclass::text, ', ') FROM pg_class WHERE oid = ANY($1::oid[])`,
						"{"+strings.Join(ids, ",")+"}").Scan(&names); err != nil {
						return pl, err
					}
					pl.stmts = append(pl.stmts, sqlf("ALTER PUBLICATION %s DROP TABLE %s", pub, names))
				}
			}
			if recreated || b.PublishInsert != nil || b.PublishUpdate != nil || b.PublishDelete != nil || b.PublishTruncate != nil {
				pl.stmts = append(pl.stmts, sqlf("ALTER PUBLICATION %s SET (publish = %s)", pub, publishList(
					deref(b.PublishInsert, old.PublishInsert), deref(b.PublishUpdate, old.PublishUpdate),
					deref(b.PublishDelete, old.PublishDelete), deref(b.PublishTruncate, old.PublishTruncate))))
			}
			if b.Owner != nil {
				pl.stmts = append(pl.stmts, sqlf("ALTER PUBLICATION %s OWNER TO %s", pub, ident(*b.Owner)))
			}
			name := old.Name
			if b.Name != nil && *b.Name != old.Name {
				pl.stmts = append(pl.stmts, sqlf("ALTER PUBLICATION %s RENAME TO %s", pub, ident(*b.Name)))
				name = *b.Name
			}
			// A publication made again has a new oid: find it by name.
			pl.result = byID("publications", `SELECT oid::int8 FROM pg_publication WHERE pubname = $1`, name)
			return pl, nil
		}})
}

// deletePublication serves DELETE /publications/{id}.
func (s *Service) deletePublication(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a publication")
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.publication.delete", resourceType: "publication",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, old, err := readPublication(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: old.Name, before: body, stmts: []stmt{sqlf("DROP PUBLICATION %s", ident(old.Name))}}, nil
		}})
}
