package pgmeta

import (
	"context"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

type policyRef struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	Name   string `json:"name"`
}

func readPolicy(ctx context.Context, tx pgx.Tx, id int64) ([]byte, policyRef, error) {
	var pr policyRef
	body, err := oldItem(ctx, tx, "policies", pgx.NamedArgs{"ids": []int64{id}}, notFound("Cannot find a policy with ID %d", id), &pr)
	return body, pr, err
}

type policyChange struct {
	Name       *string   `json:"name"`
	TableID    *int64    `json:"table_id"`
	Table      *string   `json:"table"`
	Schema     *string   `json:"schema"`
	Definition *string   `json:"definition"`
	Check      *string   `json:"check"`
	Action     *string   `json:"action"`
	Command    *string   `json:"command"`
	Roles      *[]string `json:"roles"`
}

// createPolicy serves POST /policies: {name, table (and schema) or table_id, definition
// (USING), check (WITH CHECK), action, command, roles}.
func (s *Service) createPolicy(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b policyChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	name := deref(b.Name, "")
	if err := required("name", name); err != nil {
		return err
	}
	action, command := deref(b.Action, "PERMISSIVE"), deref(b.Command, "ALL")
	if err := oneOf("action", action, "PERMISSIVE", "RESTRICTIVE"); err != nil {
		return err
	}
	if err := oneOf("command", command, "ALL", "SELECT", "INSERT", "UPDATE", "DELETE"); err != nil {
		return err
	}
	if b.TableID == nil && deref(b.Table, "") == "" {
		return badRequest("table or table_id is required")
	}
	roles := deref(b.Roles, []string{"public"})
	if len(roles) == 0 {
		return badRequest("roles must name at least one role")
	}
	return s.apply(w, r, p, change{action: "meta.policy.create", resourceType: "policy",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			schema, table := deref(b.Schema, "public"), deref(b.Table, "")
			if b.TableID != nil {
				_, t, err := readTable(ctx, tx, *b.TableID)
				if err != nil {
					return plan{}, err
				}
				schema, table = t.Schema, t.Name
			}
			sql := "CREATE POLICY " + ident(name) + " ON " + ident(schema, table) + " AS " + action + " FOR " + command + " TO " + roleList(roles)
			if b.Definition != nil {
				sql += " USING (" + *b.Definition + ")"
			}
			if b.Check != nil {
				sql += " WITH CHECK (" + *b.Check + ")"
			}
			return plan{resourceID: schema + "." + table + "." + name, stmts: []stmt{{sql: sql}},
				result: byID("policies", `SELECT oid::int8 FROM pg_policy WHERE polrelid = to_regclass($1) AND polname = $2`,
					ident(schema, table), name)}, nil
		}})
}

// updatePolicy serves PATCH /policies/{id}: definition, check, roles, then the name.
func (s *Service) updatePolicy(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a policy")
	if err != nil {
		return err
	}
	var b policyChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.policy.update", resourceType: "policy",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, old, err := readPolicy(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: strconv.FormatInt(id, 10), result: func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				body, _, err := readPolicy(ctx, tx, id)
				return body, err
			}}
			alter := "ALTER POLICY " + ident(old.Name) + " ON " + ident(old.Schema, old.Table)
			if b.Definition != nil {
				pl.stmts = append(pl.stmts, sqlf("%s USING (%s)", alter, *b.Definition))
			}
			if b.Check != nil {
				pl.stmts = append(pl.stmts, sqlf("%s WITH CHECK (%s)", alter, *b.Check))
			}
			if b.Roles != nil {
				if len(*b.Roles) == 0 {
					return pl, badRequest("roles must name at least one role")
				}
				pl.stmts = append(pl.stmts, sqlf("%s TO %s", alter, roleList(*b.Roles)))
			}
			if b.Name != nil && *b.Name != old.Name {
				pl.stmts = append(pl.stmts, sqlf("%s RENAME TO %s", alter, ident(*b.Name)))
			}
			return pl, nil
		}})
}

// deletePolicy serves DELETE /policies/{id}.
func (s *Service) deletePolicy(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a policy")
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.policy.delete", resourceType: "policy",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, old, err := readPolicy(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: old.Schema + "." + old.Table + "." + old.Name, before: body,
				stmts: []stmt{sqlf("DROP POLICY %s ON %s", ident(old.Name), ident(old.Schema, old.Table))}}, nil
		}})
}
