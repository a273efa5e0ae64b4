package tablesecurity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Compiled is the inventory of what a PUT created on a table, kept with its config: the next
// PUT and DELETE remove exactly these objects, and DELETE puts back ACLBefore and the row
// level security setting.
type Compiled struct {
	Policies []string `json:"policies"`
	Triggers []string `json:"triggers"`
	// Overlays are the schemas holding a view of the table for one role.
	Overlays []string   `json:"overlays"`
	Masks    []maskSpec `json:"masks"`
	// RLSWasEnabled and ACLBefore are the table's state before its first PUT.
	RLSWasEnabled bool `json:"rls_was_enabled"`
	ACLBefore     ACL  `json:"acl_before"`
}

// NotifyChannel is where a change of any table's config is announced (payload schema.table),
// so every node's Registry reloads.
const NotifyChannel = "goforward_table_security"

// Trigger names.
const (
	maskTrigger  = "gf_mask"
	auditTrigger = "gf_audit"
)

// apiRoles is the TO list of policies that bind every restricted role.
const apiRoles = "anon, authenticated"

// plan is the SQL of one change and what it leaves behind.
type plan struct {
	statements []string
	compiled   Compiled
	warnings   []string
}

func (p *plan) add(format string, args ...any) {
	p.statements = append(p.statements, fmt.Sprintf(format, args...))
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// quoteLiteral quotes s as an SQL string constant (standard_conforming_strings is on, so only
// the quote itself needs doubling).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// checkCollisions refuses to create objects whose names exist without having been compiled
// here: they were written by hand (or by something else), and would be dropped next time.
func checkCollisions(t *table, prev *Compiled, next *Compiled) error {
	for _, name := range next.Policies {
		if slices.Contains(t.gfPolicies, name) && !slices.Contains(prev.Policies, name) {
			return conflict("table %s.%s already has a policy named %s that table security did not create; rename it (names starting with gf_ are reserved)", t.Schema, t.Name, name)
		}
	}
	for _, name := range next.Triggers {
		if slices.Contains(t.gfTriggers, name) && !slices.Contains(prev.Triggers, name) {
			return conflict("table %s.%s already has a trigger named %s that table security did not create; rename it (names starting with gf_ are reserved)", t.Schema, t.Name, name)
		}
	}
	for _, mask := range next.Masks {
		if t.column(mask.Helper) != nil && !slices.ContainsFunc(prev.Masks, func(m maskSpec) bool { return m.Helper == mask.Helper }) {
			return conflict("table %s.%s already has a column named %s that table security did not create", t.Schema, t.Name, mask.Helper)
		}
	}
	for _, schema := range next.Overlays {
		if t.overlayViews[schema] && !slices.Contains(prev.Overlays, schema) {
			return conflict("schema %s already holds a relation named %s that table security did not create", schema, t.Name)
		}
	}
	return nil
}

// compilePut is the SQL that replaces what prev compiled on t (nil: nothing yet) with m.
func compilePut(t *table, m *model, prev *Compiled) (*plan, error) {
	p := &plan{warnings: slices.Clone(m.warnings)}
	if prev == nil {
		prev = &Compiled{RLSWasEnabled: t.RLSEnabled, ACLBefore: t.ACL}
	}
	p.compiled = Compiled{RLSWasEnabled: prev.RLSWasEnabled, ACLBefore: prev.ACLBefore, Masks: m.masks}
	p.compiled.Policies = m.policyNames()
	if len(m.masks) > 0 {
		p.compiled.Triggers = append(p.compiled.Triggers, maskTrigger)
	}
	if slices.ContainsFunc(m.audit, func(a string) bool { return a != ActionSelect }) {
		p.compiled.Triggers = append(p.compiled.Triggers, auditTrigger)
	}
	for _, r := range m.rights {
		if r.restricted(t) {
			p.compiled.Overlays = append(p.compiled.Overlays, OverlaySchema(r.role, t.Schema))
		}
	}
	for _, schema := range p.compiled.Overlays {
		if len(schema) > 63 {
			return nil, invalid("the schema name %s is too long for the views of its restricted roles (%s would exceed 63 bytes)", t.Schema, schema)
		}
	}
	if err := checkCollisions(t, prev, &p.compiled); err != nil {
		return nil, err
	}
	kept := p.teardown(t, prev, m.masks)
	p.resetPrivileges(t, kept)
	p.add("ALTER TABLE %s ENABLE ROW LEVEL SECURITY", t.qualified())
	p.addMasks(t, m, kept)
	p.addPolicies(t, m)
	p.addGrants(t, m)
	p.addOverlays(t, m)
	p.addAudit(t, m)
	p.dropEmptyOverlaySchemas(t, prev.Overlays, p.compiled.Overlays)
	p.notify(t)
	return p, nil
}

// compileDelete is the SQL that removes what prev compiled and puts back the table's
// privileges and row level security as they were before the first PUT.
func compileDelete(t *table, prev *Compiled) *plan {
	p := &plan{}
	p.resetPrivileges(t, p.teardown(t, prev, nil))
	for _, role := range restrictedRoles {
		if privs := prev.ACLBefore.Table[role]; len(privs) > 0 {
			p.add("GRANT %s ON %s TO %s", strings.Join(privs, ", "), t.qualified(), role)
		}
	}
	columns := make([]string, 0, len(prev.ACLBefore.Columns))
	for c := range prev.ACLBefore.Columns {
		columns = append(columns, c)
	}
	slices.Sort(columns)
	for _, c := range columns {
		if t.column(c) == nil {
			continue
		}
		for _, role := range restrictedRoles {
			for _, priv := range prev.ACLBefore.Columns[c][role] {
				p.add("GRANT %s (%s) ON %s TO %s", priv, quoteIdent(c), t.qualified(), role)
			}
		}
	}
	if !prev.RLSWasEnabled {
		p.add("ALTER TABLE %s DISABLE ROW LEVEL SECURITY", t.qualified())
	}
	p.dropEmptyOverlaySchemas(t, prev.Overlays, nil)
	p.notify(t)
	return p
}

// teardown drops what prev compiled, except the masked copies that keep serves unchanged
// (dropping and adding a column rewrites the table); it returns the helpers kept.
func (p *plan) teardown(t *table, prev *Compiled, keep []maskSpec) map[string]bool {
	for _, schema := range prev.Overlays {
		p.add("DROP VIEW IF EXISTS %s", pgx.Identifier{schema, t.Name}.Sanitize())
	}
	for _, name := range prev.Triggers {
		p.add("DROP TRIGGER IF EXISTS %s ON %s", quoteIdent(name), t.qualified())
	}
	for _, name := range prev.Policies {
		p.add("DROP POLICY IF EXISTS %s ON %s", quoteIdent(name), t.qualified())
	}
	kept := map[string]bool{}
	for _, old := range prev.Masks {
		if slices.Contains(keep, old) && t.column(old.Helper) != nil {
			kept[old.Helper] = true
			continue
		}
		p.add("ALTER TABLE %s DROP COLUMN IF EXISTS %s", t.qualified(), quoteIdent(old.Helper))
	}
	return kept
}

// resetPrivileges takes every table and column privilege from anon and authenticated, on
// the columns left after teardown (masked copies it dropped are gone, kept ones stay).
func (p *plan) resetPrivileges(t *table, kept map[string]bool) {
	p.add("REVOKE ALL ON %s FROM %s", t.qualified(), apiRoles)
	cols := make([]string, 0, len(t.Columns))
	for _, c := range t.Columns {
		if isHelper(c.Name) && !kept[c.Name] {
			continue
		}
		cols = append(cols, quoteIdent(c.Name))
	}
	if len(cols) > 0 {
		p.add("REVOKE ALL (%s) ON %s FROM %s", strings.Join(cols, ", "), t.qualified(), apiRoles)
	}
}

// addMasks adds the masked copies (filled by a generated expression, which PostgreSQL
// computes for every row as it rewrites the table, without firing the table's triggers, and
// then turned into a plain column kept by the gf_mask trigger, so that logical replication
// carries it to realtime).
func (p *plan) addMasks(t *table, m *model, kept map[string]bool) {
	if len(m.masks) == 0 {
		return
	}
	var args []string
	for _, mask := range m.masks {
		helper := quoteIdent(mask.Helper)
		if !kept[mask.Helper] {
			p.add("ALTER TABLE %s ADD COLUMN %s text GENERATED ALWAYS AS (goforward.gf_mask((%s)::text, %s, %s)) STORED",
				t.qualified(), helper, quoteIdent(mask.Column), quoteLiteral(mask.Kind), quoteLiteral(mask.Mask))
			p.add("ALTER TABLE %s ALTER COLUMN %s DROP EXPRESSION", t.qualified(), helper)
			p.add("COMMENT ON COLUMN %s.%s IS %s", t.qualified(), helper,
				quoteLiteral(fmt.Sprintf("goforward: the masked copy (%s) of %s, kept by table security", mask.Kind, mask.Column)))
		}
		args = append(args, quoteLiteral(mask.Column), quoteLiteral(mask.Helper), quoteLiteral(mask.Kind), quoteLiteral(mask.Mask))
	}
	p.add("CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION goforward.gf_mask_row(%s)",
		maskTrigger, t.qualified(), strings.Join(args, ", "))
}

// policyNames lists the policies m compiles to, in creation order.
func (m *model) policyNames() []string {
	var names []string
	for _, pol := range m.policies() {
		names = append(names, pol.name)
	}
	return names
}

type policy struct {
	name        string
	restrictive bool
	command     string // SELECT, INSERT, UPDATE, DELETE or ALL
	roles       string
	using       string // "" when the command takes none
	check       string
}

// policies are the row rules. Permissive ones say who reaches which rows (every row, or a
// signed-in user's own); restrictive ones add conditions every row must meet, for the
// compiled policies and hand-written ones alike.
func (m *model) policies() []policy {
	api := &m.cfg.APIConfig
	var readers, writers []string
	for _, r := range m.rights {
		if r.read {
			readers = append(readers, r.role)
		}
		if r.write {
			writers = append(writers, r.role)
		}
	}
	var out []policy
	switch {
	case len(readers) == 0:
	case api.PublicRead || m.ownerExpr == "":
		out = append(out, policy{name: "gf_read", command: "SELECT", roles: strings.Join(readers, ", "), using: "true"})
	default:
		out = append(out, policy{name: "gf_read_own", command: "SELECT", roles: "authenticated", using: m.ownerExpr})
	}
	rows, suffix, roles := "true", "", strings.Join(writers, ", ")
	if !api.PublicWrite {
		rows, suffix, roles = m.ownerExpr, "_own", "authenticated"
	}
	if len(writers) > 0 {
		out = append(out,
			policy{name: "gf_insert" + suffix, command: "INSERT", roles: roles, check: rows},
			policy{name: "gf_update" + suffix, command: "UPDATE", roles: roles, using: rows, check: rows},
			policy{name: "gf_delete" + suffix, command: "DELETE", roles: roles, using: rows})
	}
	restrict := func(name, command, cond string) {
		pol := policy{name: name, restrictive: true, command: command, roles: apiRoles}
		if command != "INSERT" {
			pol.using = cond
		}
		if command == "INSERT" || command == "UPDATE" || command == "ALL" {
			pol.check = cond
		}
		out = append(out, pol)
	}
	if api.RequireVerified {
		restrict("gf_require_verified", "ALL", "(SELECT goforward.gf_email_verified())")
	}
	if api.RequireMFA {
		restrict("gf_require_mfa", "ALL", "coalesce((SELECT auth.jwt() ->> 'aal'), '') = 'aal2'")
	}
	if m.appRoles {
		quoted := make([]string, len(api.AllowedRoles))
		for i, r := range api.AllowedRoles {
			quoted[i] = quoteLiteral(r)
		}
		restrict("gf_allowed_roles", "ALL", "(SELECT goforward.gf_has_role(ARRAY["+strings.Join(quoted, ", ")+"]::text[]))")
	}
	if len(m.allowed) > 0 {
		quoted := make([]string, len(m.allowed))
		for i, a := range m.allowed {
			quoted[i] = quoteLiteral(a.String())
		}
		restrict("gf_ip_allowlist", "ALL", "(SELECT goforward.gf_client_ip_allowed(ARRAY["+strings.Join(quoted, ", ")+"]::cidr[]))")
	}
	for _, f := range m.filters {
		restrict(filterPolicy(f.name), f.command(), "("+f.checked+")")
	}
	return out
}

func (p *plan) addPolicies(t *table, m *model) {
	for _, pol := range m.policies() {
		kind := "PERMISSIVE"
		if pol.restrictive {
			kind = "RESTRICTIVE"
		}
		sql := fmt.Sprintf("CREATE POLICY %s ON %s AS %s FOR %s TO %s", quoteIdent(pol.name), t.qualified(), kind, pol.command, pol.roles)
		if pol.using != "" {
			sql += " USING (" + pol.using + ")"
		}
		if pol.check != "" {
			sql += " WITH CHECK (" + pol.check + ")"
		}
		p.statements = append(p.statements, sql)
	}
}

// addGrants gives each role the table and column privileges its rights need: table-level
// where it may use every column as it is, column-level (masked columns through their copy)
// otherwise.
func (p *plan) addGrants(t *table, m *model) {
	for _, r := range m.rights {
		var reads, writes []string
		allRead, allWrite := true, true
		for _, c := range t.Columns {
			if isHelper(c.Name) {
				continue
			}
			switch r.reads[c.Name] {
			case readRaw:
				reads = append(reads, quoteIdent(c.Name))
			case readMasked:
				reads = append(reads, quoteIdent(MaskColumnPrefix+c.Name))
				allRead = false
			default:
				allRead = false
			}
			if r.writes[c.Name] {
				writes = append(writes, quoteIdent(c.Name))
				if r.reads[c.Name] == readMasked {
					writes = append(writes, quoteIdent(MaskColumnPrefix+c.Name))
				}
			} else {
				allWrite = false
			}
		}
		if r.read {
			switch {
			case allRead:
				p.add("GRANT SELECT ON %s TO %s", t.qualified(), r.role)
			case len(reads) > 0:
				p.add("GRANT SELECT (%s) ON %s TO %s", strings.Join(reads, ", "), t.qualified(), r.role)
			}
		}
		if r.write {
			switch {
			case allWrite:
				p.add("GRANT INSERT, UPDATE ON %s TO %s", t.qualified(), r.role)
			case len(writes) > 0:
				p.add("GRANT INSERT (%s), UPDATE (%s) ON %s TO %s", strings.Join(writes, ", "), strings.Join(writes, ", "), t.qualified(), r.role)
			}
			p.add("GRANT DELETE ON %s TO %s", t.qualified(), r.role)
		}
	}
}

// addOverlays creates, for every role that may not read some column as it is, the view it
// reads the table through: security_invoker, so the table's policies and the role's column
// privileges apply as if it read the table itself, and simple enough to be updatable, so
// writes go through it too (a masked column's copy is written as the column; gf_mask moves
// the value).
func (p *plan) addOverlays(t *table, m *model) {
	for _, r := range m.rights {
		if !r.restricted(t) {
			continue
		}
		schema := OverlaySchema(r.role, t.Schema)
		view := pgx.Identifier{schema, t.Name}.Sanitize()
		o := Overlay{Schema: t.Schema, Table: t.Name, Role: r.role}
		var cols []string
		for _, c := range t.Columns {
			switch r.reads[c.Name] {
			case readRaw:
				if isHelper(c.Name) {
					continue
				}
				cols = append(cols, quoteIdent(c.Name))
				o.Columns = append(o.Columns, OverlayColumn{Name: c.Name, Source: c.Name})
			case readMasked:
				cols = append(cols, quoteIdent(MaskColumnPrefix+c.Name)+" AS "+quoteIdent(c.Name))
				o.Columns = append(o.Columns, OverlayColumn{Name: c.Name, Source: MaskColumnPrefix + c.Name, Masked: true})
			}
		}
		if len(cols) == 0 {
			p.warnings = append(p.warnings, fmt.Sprintf("role %s may read no column of %s.%s", r.role, t.Schema, t.Name))
			p.compiled.Overlays = slices.DeleteFunc(p.compiled.Overlays, func(s string) bool { return s == schema })
			continue
		}
		p.add("CREATE SCHEMA IF NOT EXISTS %s", quoteIdent(schema))
		p.add("REVOKE ALL ON SCHEMA %s FROM PUBLIC", quoteIdent(schema))
		p.add("GRANT USAGE ON SCHEMA %s TO %s", quoteIdent(schema), r.role)
		p.add("CREATE VIEW %s WITH (security_invoker = true) AS SELECT %s FROM %s", view, strings.Join(cols, ", "), t.qualified())
		p.add("COMMENT ON VIEW %s IS %s", view, quoteLiteral(o.comment()))
		privs := "SELECT"
		if r.write {
			privs = "SELECT, INSERT, UPDATE, DELETE"
		}
		p.add("GRANT %s ON %s TO %s", privs, view, r.role)
	}
}

// addAudit writes the table's inserts, updates and deletes to the audit log (SELECT is
// audited by the gateway, since PostgreSQL has no trigger for reading).
func (p *plan) addAudit(t *table, m *model) {
	var events []string
	for _, a := range m.audit {
		if a != ActionSelect {
			events = append(events, strings.ToUpper(a))
		}
	}
	if len(events) == 0 {
		return
	}
	keys := make([]string, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		keys[i] = quoteLiteral(k)
	}
	p.add("CREATE TRIGGER %s AFTER %s ON %s FOR EACH ROW EXECUTE FUNCTION goforward.gf_audit_row(%s)",
		auditTrigger, strings.Join(events, " OR "), t.qualified(), strings.Join(keys, ", "))
}

// dropEmptyOverlaySchemas drops the overlay schemas that before held this table's view and
// will hold nothing once it is gone (other tables' views of the same schema share them).
func (p *plan) dropEmptyOverlaySchemas(t *table, before, after []string) {
	for _, schema := range before {
		if slices.Contains(after, schema) {
			continue
		}
		left := t.overlayObjects[schema]
		if t.overlayViews[schema] {
			left--
		}
		if left <= 0 {
			p.add("DROP SCHEMA IF EXISTS %s", quoteIdent(schema))
		}
	}
}

// notify reloads every node's schema cache (REST) and table security registry once the
// transaction commits.
func (p *plan) notify(t *table) {
	p.add("NOTIFY pgrst, 'reload schema'")
	p.add("SELECT pg_notify(%s, %s)", quoteLiteral(NotifyChannel), quoteLiteral(t.Schema+"."+t.Name))
}
