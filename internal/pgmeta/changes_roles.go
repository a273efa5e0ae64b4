package pgmeta

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

type roleRef struct {
	Name string `json:"name"`
}

func readRole(ctx context.Context, tx pgx.Tx, id int64) ([]byte, roleRef, error) {
	var rr roleRef
	body, err := oldItem(ctx, tx, "roles", pgx.NamedArgs{"ids": []int64{id}}, notFound("Cannot find a role with ID %d", id), &rr)
	return body, rr, err
}

type roleConfigOp struct {
	Op    string  `json:"op"`
	Path  string  `json:"path"`
	Value *string `json:"value"`
}

type roleChange struct {
	Name              *string  `json:"name"`
	Password          *string  `json:"password"`
	InheritRole       *bool    `json:"inherit_role"`
	CanLogin          *bool    `json:"can_login"`
	IsSuperuser       *bool    `json:"is_superuser"`
	CanCreateDB       *bool    `json:"can_create_db"`
	CanCreateRole     *bool    `json:"can_create_role"`
	IsReplicationRole *bool    `json:"is_replication_role"`
	CanBypassRLS      *bool    `json:"can_bypass_rls"`
	ConnectionLimit   *int     `json:"connection_limit"`
	ValidUntil        *string  `json:"valid_until"`
	MemberOf          []string `json:"member_of"`
	Members           []string `json:"members"`
	Admins            []string `json:"admins"`
	// Config is {"setting": "value"} on create, and a list of JSON-Patch-like operations
	// on update; it is decoded per route.
	Config any `json:"config"`
}

// attributes writes the role options the body names; defaults fill what create needs.
func (b roleChange) attributes(create bool) (sql, audited string, err error) {
	flag := func(v *bool, def bool, on, off string) string {
		if v == nil && !create {
			return ""
		}
		return " " + pick(deref(v, def), on, off)
	}
	var o strings.Builder
	o.WriteString(flag(b.IsSuperuser, false, "SUPERUSER", "NOSUPERUSER"))
	o.WriteString(flag(b.CanCreateDB, false, "CREATEDB", "NOCREATEDB"))
	o.WriteString(flag(b.CanCreateRole, false, "CREATEROLE", "NOCREATEROLE"))
	o.WriteString(flag(b.InheritRole, true, "INHERIT", "NOINHERIT"))
	o.WriteString(flag(b.CanLogin, false, "LOGIN", "NOLOGIN"))
	o.WriteString(flag(b.IsReplicationRole, false, "REPLICATION", "NOREPLICATION"))
	o.WriteString(flag(b.CanBypassRLS, false, "BYPASSRLS", "NOBYPASSRLS"))
	if b.ConnectionLimit != nil || create {
		o.WriteString(" CONNECTION LIMIT " + strconv.Itoa(deref(b.ConnectionLimit, -1)))
	}
	if b.ValidUntil != nil {
		v, err := literal(*b.ValidUntil)
		if err != nil {
			return "", "", err
		}
		o.WriteString(" VALID UNTIL " + v)
	}
	sql, audited = o.String(), o.String()
	if b.Password != nil {
		pw, err := literal(*b.Password)
		if err != nil {
			return "", "", err
		}
		// The audit log records that a password was set, never the password.
		sql += " PASSWORD " + pw
		audited += " PASSWORD '********'"
	}
	return sql, audited, nil
}

// critical reports whether the change grants what bypasses the database's own protections.
func (b roleChange) critical() bool {
	return deref(b.IsSuperuser, false) || deref(b.CanBypassRLS, false) || deref(b.IsReplicationRole, false)
}

func settingSQL(role, setting, value string) (stmt, error) {
	if !settingPattern.MatchString(setting) {
		return stmt{}, badRequest("%q is not a setting name", setting)
	}
	v, err := literal(value)
	if err != nil {
		return stmt{}, err
	}
	return sqlf("ALTER ROLE %s SET %s TO %s", role, setting, v), nil
}

// createRole serves POST /roles: a role with postgres-meta's defaults (no login, inherit),
// its memberships and its settings. Roles belong to the whole cluster.
func (s *Service) createRole(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b roleChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	name := deref(b.Name, "")
	if err := required("name", name); err != nil {
		return err
	}
	attrs, audited, err := b.attributes(true)
	if err != nil {
		return err
	}
	var member string
	if len(b.MemberOf) > 0 {
		member += " IN ROLE " + roleList(b.MemberOf)
	}
	if len(b.Members) > 0 {
		member += " ROLE " + roleList(b.Members)
	}
	if len(b.Admins) > 0 {
		member += " ADMIN " + roleList(b.Admins)
	}
	role := ident(name)
	stmts := []stmt{{sql: "CREATE ROLE " + role + " WITH" + attrs + member, audit: "CREATE ROLE " + role + " WITH" + audited + member}}
	if b.Config != nil {
		config, ok := b.Config.(map[string]any)
		if !ok {
			return badRequest(`config must be an object of settings ({"search_path": "public"})`)
		}
		keys := make([]string, 0, len(config))
		for k := range config {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v, ok := config[k].(string)
			if !ok {
				return badRequest("config.%s must be a string", k)
			}
			st, err := settingSQL(role, k, v)
			if err != nil {
				return err
			}
			stmts = append(stmts, st)
		}
	}
	return s.apply(w, r, p, change{action: "meta.role.create", resourceType: "role",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			return plan{resourceID: name, stmts: stmts, critical: b.critical(),
				result: byID("roles", `SELECT oid::int8 FROM pg_roles WHERE rolname = $1`, name)}, nil
		}})
}

// updateRole serves PATCH /roles/{id}: attributes and password, settings ({op: add,
// replace or remove, path: setting, value}), then the name.
func (s *Service) updateRole(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a role")
	if err != nil {
		return err
	}
	var b roleChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	attrs, audited, err := b.attributes(false)
	if err != nil {
		return err
	}
	var ops []roleConfigOp
	if b.Config != nil {
		list, ok := b.Config.([]any)
		if !ok {
			return badRequest(`config must be a list of operations ([{"op": "replace", "path": "search_path", "value": "public"}])`)
		}
		for _, item := range list {
			m, _ := item.(map[string]any)
			op, _ := m["op"].(string)
			path, _ := m["path"].(string)
			o := roleConfigOp{Op: op, Path: path}
			if v, ok := m["value"].(string); ok {
				o.Value = &v
			}
			if err := oneOf("config op", o.Op, "add", "replace", "remove"); err != nil {
				return err
			}
			ops = append(ops, o)
		}
	}
	return s.apply(w, r, p, change{action: "meta.role.update", resourceType: "role",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, old, err := readRole(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			role := ident(old.Name)
			pl := plan{resourceID: old.Name, critical: b.critical(), result: func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				body, _, err := readRole(ctx, tx, id)
				return body, err
			}}
			if attrs != "" {
				pl.stmts = append(pl.stmts, stmt{sql: "ALTER ROLE " + role + " WITH" + attrs, audit: "ALTER ROLE " + role + " WITH" + audited})
			}
			for _, o := range ops {
				if o.Op == "remove" {
					if !settingPattern.MatchString(o.Path) {
						return pl, badRequest("%q is not a setting name", o.Path)
					}
					pl.stmts = append(pl.stmts, sqlf("ALTER ROLE %s RESET %s", role, o.Path))
					continue
				}
				if o.Value == nil {
					return pl, badRequest("config %s of %s needs a value", o.Op, o.Path)
				}
				st, err := settingSQL(role, o.Path, *o.Value)
				if err != nil {
					return pl, err
				}
				pl.stmts = append(pl.stmts, st)
			}
			if b.Name != nil && *b.Name != old.Name {
				pl.stmts = append(pl.stmts, sqlf("ALTER ROLE %s RENAME TO %s", role, ident(*b.Name)))
			}
			return pl, nil
		}})
}

// deleteRole serves DELETE /roles/{id}.
func (s *Service) deleteRole(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a role")
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.role.delete", resourceType: "role",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, old, err := readRole(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: old.Name, before: body, stmts: []stmt{sqlf("DROP ROLE %s", ident(old.Name))}}, nil
		}})
}
