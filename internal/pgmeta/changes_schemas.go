package pgmeta

import (
	"context"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

type schemaRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func readSchema(ctx context.Context, tx pgx.Tx, id int64) ([]byte, schemaRef, error) {
	var sc schemaRef
	body, err := oldItem(ctx, tx, "schemas", pgx.NamedArgs{"ids": []int64{id}}, notFound("Cannot find a schema with ID %d", id), &sc)
	return body, sc, err
}

type schemaChange struct {
	Name  *string `json:"name"`
	Owner *string `json:"owner"`
}

// createSchema serves POST /schemas: {name, owner}, owned by postgres unless told otherwise.
func (s *Service) createSchema(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b schemaChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	name := deref(b.Name, "")
	if err := required("name", name); err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.schema.create", resourceType: "schema",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			return plan{resourceID: name,
				stmts:  []stmt{sqlf("CREATE SCHEMA %s AUTHORIZATION %s", ident(name), ident(deref(b.Owner, "postgres")))},
				result: byID("schemas", `SELECT oid::int8 FROM pg_namespace WHERE nspname = $1`, name)}, nil
		}})
}

// updateSchema serves PATCH /schemas/{id}: the owner, then the name.
func (s *Service) updateSchema(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a schema")
	if err != nil {
		return err
	}
	var b schemaChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.schema.update", resourceType: "schema",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, old, err := readSchema(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: strconv.FormatInt(id, 10), result: func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				body, _, err := readSchema(ctx, tx, id)
				return body, err
			}}
			if b.Owner != nil {
				pl.stmts = append(pl.stmts, sqlf("ALTER SCHEMA %s OWNER TO %s", ident(old.Name), ident(*b.Owner)))
			}
			if b.Name != nil && *b.Name != old.Name {
				pl.stmts = append(pl.stmts, sqlf("ALTER SCHEMA %s RENAME TO %s", ident(old.Name), ident(*b.Name)))
			}
			return pl, nil
		}})
}

// deleteSchema serves DELETE /schemas/{id}?cascade=.
func (s *Service) deleteSchema(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a schema")
	if err != nil {
		return err
	}
	mode, err := cascade(r)
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.schema.delete", resourceType: "schema",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, old, err := readSchema(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: old.Name, before: body, stmts: []stmt{sqlf("DROP SCHEMA %s %s", ident(old.Name), mode)}}, nil
		}})
}

type extensionChange struct {
	Name    string  `json:"name"`
	Schema  *string `json:"schema"`
	Version *string `json:"version"`
	Cascade bool    `json:"cascade"`
	Update  bool    `json:"update"`
}

func readExtension(ctx context.Context, tx pgx.Tx, name string) ([]byte, error) {
	return oldItem(ctx, tx, "extensions", pgx.NamedArgs{"names": []string{name}}, notFound("Cannot find an extension named %s", name), nil)
}

func extensionNamed(name string) func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) { return readExtension(ctx, tx, name) }
}

// createExtension serves POST /extensions: {name, schema, version, cascade}.
func (s *Service) createExtension(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b extensionChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if err := required("name", b.Name); err != nil {
		return err
	}
	sql := "CREATE EXTENSION " + ident(b.Name)
	if b.Schema != nil {
		sql += " SCHEMA " + ident(*b.Schema)
	}
	if b.Version != nil {
		v, err := literal(*b.Version)
		if err != nil {
			return err
		}
		sql += " VERSION " + v
	}
	if b.Cascade {
		sql += " CASCADE"
	}
	return s.apply(w, r, p, change{action: "meta.extension.create", resourceType: "extension",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			return plan{resourceID: b.Name, stmts: []stmt{{sql: sql}}, result: extensionNamed(b.Name)}, nil
		}})
}

// updateExtension serves PATCH /extensions/{name}: {update, version} updates it, {schema}
// moves it.
func (s *Service) updateExtension(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	name := r.PathValue("id")
	var b extensionChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.extension.update", resourceType: "extension",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			if _, err := readExtension(ctx, tx, name); err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: name, result: extensionNamed(name)}
			if b.Update {
				sql := "ALTER EXTENSION " + ident(name) + " UPDATE"
				if b.Version != nil {
					v, err := literal(*b.Version)
					if err != nil {
						return pl, err
					}
					sql += " TO " + v
				}
				pl.stmts = append(pl.stmts, stmt{sql: sql})
			}
			if b.Schema != nil {
				pl.stmts = append(pl.stmts, sqlf("ALTER EXTENSION %s SET SCHEMA %s", ident(name), ident(*b.Schema)))
			}
			return pl, nil
		}})
}

// deleteExtension serves DELETE /extensions/{name}?cascade=.
func (s *Service) deleteExtension(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	name := r.PathValue("id")
	mode, err := cascade(r)
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.extension.delete", resourceType: "extension",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, err := readExtension(ctx, tx, name)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: name, before: body, stmts: []stmt{sqlf("DROP EXTENSION %s %s", ident(name), mode)}}, nil
		}})
}
