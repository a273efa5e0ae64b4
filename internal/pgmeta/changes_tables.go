package pgmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

// tableRef is what the changes of a table read of it.
type tableRef struct {
	ID          int64  `json:"id"`
	Schema      string `json:"schema"`
	Name        string `json:"name"`
	PrimaryKeys []struct {
		Name string `json:"name"`
	} `json:"primary_keys"`
}

// oldItem reads the object a change is about, answering postgres-meta's 404 when there is
// none; into, when not nil, receives its decoded fields.
func oldItem(ctx context.Context, tx pgx.Tx, path string, args pgx.NamedArgs, missing error, into any) ([]byte, error) {
	body, err := item(ctx, tx, resourceByPath(path), args)
	if err != nil {
		return nil, err
	}
	if body == nil {
		return nil, missing
	}
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			return nil, fmt.Errorf("pgmeta: decode %s: %w", path, err)
		}
	}
	return body, nil
}

func readTable(ctx context.Context, tx pgx.Tx, id int64) ([]byte, tableRef, error) {
	var t tableRef
	body, err := oldItem(ctx, tx, "tables", pgx.NamedArgs{"ids": []int64{id}}, notFound("Cannot find a table with ID %d", id), &t)
	return body, t, err
}

// byID answers with the object of path whose id is the one the query finds after the change.
func byID(path, lookup string, args ...any) func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		var id int64
		if err := tx.QueryRow(ctx, lookup, args...).Scan(&id); err != nil {
			return nil, fmt.Errorf("pgmeta: find the changed %s: %w", path, err)
		}
		return item(ctx, tx, resourceByPath(path), pgx.NamedArgs{"ids": []int64{id}})
	}
}

func relationID(schema, name string) func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
	return byID("tables", `SELECT to_regclass($1)::oid::int8`, ident(schema, name))
}

type tableCreate struct {
	Name    string  `json:"name"`
	Schema  *string `json:"schema"`
	Comment *string `json:"comment"`
}

// createTable serves POST /tables.
func (s *Service) createTable(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b tableCreate
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if err := required("name", b.Name); err != nil {
		return err
	}
	schema := deref(b.Schema, "public")
	return s.apply(w, r, p, change{action: "meta.table.create", resourceType: "table",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			pl := plan{resourceID: schema + "." + b.Name, result: relationID(schema, b.Name)}
			pl.stmts = append(pl.stmts, sqlf("CREATE TABLE %s ()", ident(schema, b.Name)))
			if b.Comment != nil {
				c, err := literal(*b.Comment)
				if err != nil {
					return pl, err
				}
				pl.stmts = append(pl.stmts, sqlf("COMMENT ON TABLE %s IS %s", ident(schema, b.Name), c))
			}
			return pl, nil
		}})
}

type tableUpdate struct {
	Name                 *string `json:"name"`
	Schema               *string `json:"schema"`
	RLSEnabled           *bool   `json:"rls_enabled"`
	RLSForced            *bool   `json:"rls_forced"`
	ReplicaIdentity      *string `json:"replica_identity"`
	ReplicaIdentityIndex *string `json:"replica_identity_index"`
	PrimaryKeys          *[]struct {
		Name string `json:"name"`
	} `json:"primary_keys"`
	Comment *string `json:"comment"`
}

// updateTable serves PATCH /tables/{id}: row-level security on or off (and forced), the
// replica identity, the primary key, the comment, then the schema and the name.
func (s *Service) updateTable(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a table")
	if err != nil {
		return err
	}
	var b tableUpdate
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.ReplicaIdentity != nil {
		if err := oneOf("replica_identity", *b.ReplicaIdentity, "DEFAULT", "INDEX", "FULL", "NOTHING"); err != nil {
			return err
		}
		if *b.ReplicaIdentity == "INDEX" && deref(b.ReplicaIdentityIndex, "") == "" {
			return badRequest("replica_identity INDEX needs replica_identity_index")
		}
	}
	return s.apply(w, r, p, change{action: "meta.table.update", resourceType: "table",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, old, err := readTable(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: strconv.FormatInt(id, 10), result: func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				body, _, err := readTable(ctx, tx, id)
				return body, err
			}}
			alter := "ALTER TABLE " + ident(old.Schema, old.Name)
			if b.RLSEnabled != nil {
				pl.stmts = append(pl.stmts, sqlf("%s %s ROW LEVEL SECURITY", alter, pick(*b.RLSEnabled, "ENABLE", "DISABLE")))
			}
			if b.RLSForced != nil {
				pl.stmts = append(pl.stmts, sqlf("%s %s ROW LEVEL SECURITY", alter, pick(*b.RLSForced, "FORCE", "NO FORCE")))
			}
			if b.ReplicaIdentity != nil {
				if *b.ReplicaIdentity == "INDEX" {
					pl.stmts = append(pl.stmts, sqlf("%s REPLICA IDENTITY USING INDEX %s", alter, ident(*b.ReplicaIdentityIndex)))
				} else {
					pl.stmts = append(pl.stmts, sqlf("%s REPLICA IDENTITY %s", alter, *b.ReplicaIdentity))
				}
			}
			if b.PrimaryKeys != nil {
				var conname string
				err := tx.QueryRow(ctx, `SELECT conname FROM pg_constraint WHERE contype = 'p' AND conrelid = $1`, id).Scan(&conname)
				switch {
				case err == nil:
					pl.stmts = append(pl.stmts, sqlf("%s DROP CONSTRAINT %s", alter, ident(conname)))
				case !errors.Is(err, pgx.ErrNoRows):
					return pl, fmt.Errorf("pgmeta: read primary key: %w", err)
				}
				if len(*b.PrimaryKeys) > 0 {
					cols := make([]string, len(*b.PrimaryKeys))
					for i, k := range *b.PrimaryKeys {
						cols[i] = ident(k.Name)
					}
					pl.stmts = append(pl.stmts, sqlf("%s ADD PRIMARY KEY (%s)", alter, strings.Join(cols, ", ")))
				}
			}
			if b.Comment != nil {
				c, err := literal(*b.Comment)
				if err != nil {
					return pl, err
				}
				pl.stmts = append(pl.stmts, sqlf("COMMENT ON TABLE %s IS %s", ident(old.Schema, old.Name), c))
			}
			schema := old.Schema
			if b.Schema != nil && *b.Schema != old.Schema {
				pl.stmts = append(pl.stmts, sqlf("%s SET SCHEMA %s", alter, ident(*b.Schema)))
				schema = *b.Schema
			}
			if b.Name != nil && *b.Name != old.Name {
				pl.stmts = append(pl.stmts, sqlf("ALTER TABLE %s RENAME TO %s", ident(schema, old.Name), ident(*b.Name)))
			}
			return pl, nil
		}})
}

// deleteTable serves DELETE /tables/{id}?cascade=: answers with the table as it was.
func (s *Service) deleteTable(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a table")
	if err != nil {
		return err
	}
	mode, err := cascade(r)
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.table.delete", resourceType: "table",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, old, err := readTable(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: old.Schema + "." + old.Name, before: body,
				stmts: []stmt{sqlf("DROP TABLE %s %s", ident(old.Schema, old.Name), mode)}}, nil
		}})
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
