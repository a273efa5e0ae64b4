package usermigrations

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ddl collects the statements of a generated migration; a statement may carry comment lines
// (warnings for the reader) before it. Notes are differences no statement can make.
type ddl struct{ stmts, notes []string }

func (d *ddl) add(format string, args ...any) {
	d.stmts = append(d.stmts, fmt.Sprintf(format, args...)+";")
}

func (d *ddl) warn(warning, format string, args ...any) {
	d.stmts = append(d.stmts, "-- "+warning+"\n"+fmt.Sprintf(format, args...)+";")
}

func sorted[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// changes is the DDL that turns a database whose managed schemas look like from into one
// that looks like to. Drops come first (dependents before what they depend on), then
// creations (what others depend on first); objects are compared by PostgreSQL's own
// definitions, so a changed index, constraint, trigger or policy is dropped and created
// again, and a changed function is replaced (dropped first when its signature's result or
// argument names changed, which CREATE OR REPLACE cannot do).
func changes(from, to *snapshot) (stmts, notes []string) {
	var d ddl
	droppedTables := map[string]bool{}
	for name := range from.tables {
		if to.tables[name] == nil {
			droppedTables[name] = true
		}
	}
	dropDependents(&d, from, to, droppedTables)
	dropTablesAndColumns(&d, from, to, droppedTables)
	dropFreeObjects(&d, from, to, droppedTables)
	createFreeObjects(&d, from, to)
	createTablesAndColumns(&d, from, to)
	createDependents(&d, from, to)
	for _, name := range sorted(from.schemas) {
		if _, kept := to.schemas[name]; !kept {
			d.add("DROP SCHEMA %s", from.schemas[name])
		}
	}
	return d.stmts, d.notes
}

// dropDependents drops the triggers, policies, constraints and indexes that are gone or
// changed on tables that stay (a dropped table takes its own along).
func dropDependents(d *ddl, from, to *snapshot, droppedTables map[string]bool) {
	for _, k := range sorted(from.triggers) {
		t := from.triggers[k]
		if n, ok := to.triggers[k]; !droppedTables[t.table] && (!ok || n.def != t.def) {
			d.add("DROP TRIGGER %s ON %s", t.name, t.table)
		}
	}
	for _, k := range sorted(from.policies) {
		p := from.policies[k]
		if n, ok := to.policies[k]; !droppedTables[p.table] && (!ok || !samePolicy(p, n)) {
			d.add("DROP POLICY %s ON %s", p.name, p.table)
		}
	}
	// Foreign keys first: a primary key or unique constraint dropped below may be what they
	// reference.
	for _, fk := range []bool{true, false} {
		for _, name := range sorted(from.tables) {
			if droppedTables[name] {
				continue
			}
			for _, cn := range sorted(from.tables[name].cons) {
				c := from.tables[name].cons[cn]
				if (c.kind == "f") != fk {
					continue
				}
				if n, ok := to.tables[name].cons[cn]; !ok || n.def != c.def {
					d.add("ALTER TABLE %s DROP CONSTRAINT %s", name, c.name)
				}
			}
		}
	}
	for _, k := range sorted(from.indexes) {
		ix := from.indexes[k]
		if n, ok := to.indexes[k]; !droppedTables[ix.table] && (!ok || n.def != ix.def) {
			d.add("DROP INDEX %s", ix.name)
		}
	}
}

// dropTablesAndColumns drops the tables that are gone (in one statement, so foreign keys
// between them are no obstacle) and the columns that are gone, or are generated columns
// whose expression changed (PostgreSQL cannot alter that expression).
func dropTablesAndColumns(d *ddl, from, to *snapshot, droppedTables map[string]bool) {
	if len(droppedTables) > 0 {
		names := sorted(droppedTables)
		d.warn("Drops "+strings.Join(names, ", ")+" with its data. If a table was renamed, use ALTER TABLE … RENAME TO instead.",
			"DROP TABLE %s", strings.Join(names, ", "))
	}
	for _, name := range sorted(from.tables) {
		if droppedTables[name] {
			continue
		}
		for _, c := range from.tables[name].columns {
			n, ok := to.tables[name].columnSet[c.name]
			switch {
			case !ok:
				d.warn(fmt.Sprintf("Drops %s.%s with its data. If the column was renamed, use ALTER TABLE … RENAME COLUMN instead.", name, c.name),
					"ALTER TABLE %s DROP COLUMN %s", name, c.name)
			case regenerated(c, n):
				d.add("ALTER TABLE %s DROP COLUMN %s", name, c.name)
			}
		}
	}
}

// regenerated reports whether a column must be dropped and added again: it is, or becomes,
// a generated column, or its generation expression changed.
func regenerated(from, to column) bool {
	return from.generated != to.generated || (from.generated != "" && from.def != to.def)
}

// dropFreeObjects drops functions, sequences, enum types and extensions that are gone, and
// functions whose change CREATE OR REPLACE cannot make.
func dropFreeObjects(d *ddl, from, to *snapshot, droppedTables map[string]bool) {
	for _, k := range sorted(from.functions) {
		f := from.functions[k]
		if n, ok := to.functions[k]; !ok || n.kind != f.kind || n.result != f.result || n.args != f.args {
			d.add("DROP %s %s", routineKind(f.kind), f.key)
		}
	}
	for _, k := range sorted(from.sequences) {
		s := from.sequences[k]
		if _, ok := to.sequences[k]; ok {
			continue
		}
		if s.ownerTable != "" && (droppedTables[s.ownerTable] || !hasColumn(to, s.ownerTable, s.ownerColumn)) {
			continue // dropped with the column that owns it
		}
		d.add("DROP SEQUENCE %s", s.name)
	}
	for _, k := range sorted(from.enums) {
		if _, ok := to.enums[k]; !ok {
			d.add("DROP TYPE %s", k)
		}
	}
	for _, k := range sorted(from.extensions) {
		if _, ok := to.extensions[k]; !ok {
			d.add("DROP EXTENSION %s", k)
		}
	}
}

func hasColumn(s *snapshot, table, column string) bool {
	t := s.tables[table]
	if t == nil {
		return false
	}
	_, ok := t.columnSet[column]
	return ok
}

func routineKind(kind string) string {
	if kind == "p" {
		return "PROCEDURE"
	}
	return "FUNCTION"
}

// createFreeObjects creates what tables may use: schemas, extensions, enum types (or their
// new labels) and sequences.
func createFreeObjects(d *ddl, from, to *snapshot) {
	for _, name := range sorted(to.schemas) {
		if _, ok := from.schemas[name]; !ok {
			d.add("CREATE SCHEMA %s", to.schemas[name])
		}
	}
	for _, k := range sorted(to.extensions) {
		schema := to.extensions[k]
		old, ok := from.extensions[k]
		switch {
		case !ok:
			d.add("CREATE SCHEMA IF NOT EXISTS %s", schema)
			d.add("CREATE EXTENSION IF NOT EXISTS %s WITH SCHEMA %s", k, schema)
		case old != schema:
			d.add("ALTER EXTENSION %s SET SCHEMA %s", k, schema)
		}
	}
	for _, k := range sorted(to.enums) {
		labels := to.enums[k]
		old, ok := from.enums[k]
		if !ok {
			d.add("CREATE TYPE %s AS ENUM (%s)", k, literals(labels))
			continue
		}
		for i, l := range labels {
			if slices.Contains(old, l) {
				continue
			}
			if i > 0 {
				d.add("ALTER TYPE %s ADD VALUE %s AFTER %s", k, literal(l), literal(labels[i-1]))
				continue
			}
			// The first label goes before the first one the type already has.
			anchor := slices.IndexFunc(labels, func(x string) bool { return slices.Contains(old, x) })
			if anchor < 0 {
				d.add("ALTER TYPE %s ADD VALUE %s", k, literal(l))
			} else {
				d.add("ALTER TYPE %s ADD VALUE %s BEFORE %s", k, literal(l), literal(labels[anchor]))
			}
		}
		var lost []string
		for _, l := range old {
			if !slices.Contains(labels, l) {
				lost = append(lost, l)
			}
		}
		if len(lost) > 0 {
			d.notes = append(d.notes, fmt.Sprintf("%s no longer has the labels %s: PostgreSQL cannot remove labels from an enum; create a new type and convert the columns by hand.",
				k, literals(lost)))
		}
	}
	for _, k := range sorted(to.sequences) {
		s := to.sequences[k]
		old, ok := from.sequences[k]
		switch {
		case !ok:
			d.add("CREATE SEQUENCE %s %s", k, sequenceOptions(s))
		case sequenceOptions(old) != sequenceOptions(s):
			d.add("ALTER SEQUENCE %s %s", k, sequenceOptions(s))
		}
	}
}

func sequenceOptions(s sequence) string {
	cycle := "NO CYCLE"
	if s.cycle {
		cycle = "CYCLE"
	}
	return fmt.Sprintf("AS %s INCREMENT BY %d MINVALUE %d MAXVALUE %d START WITH %d CACHE %d %s",
		s.typ, s.inc, s.minv, s.maxv, s.start, s.c, cycle)
}

// createTablesAndColumns creates the new tables (without constraints, which may reference
// tables created after them) and brings the columns of kept tables to their new shape.
func createTablesAndColumns(d *ddl, from, to *snapshot) {
	for _, name := range sorted(to.tables) {
		t := to.tables[name]
		old := from.tables[name]
		if old == nil {
			cols := make([]string, len(t.columns))
			for i, c := range t.columns {
				cols[i] = "  " + columnClause(c)
			}
			if len(cols) == 0 {
				d.add("CREATE TABLE %s ()", name)
			} else {
				d.add("CREATE TABLE %s (\n%s\n)", name, strings.Join(cols, ",\n"))
			}
			continue
		}
		for _, c := range t.columns {
			o, ok := old.columnSet[c.name]
			if !ok || regenerated(o, c) {
				d.add("ALTER TABLE %s ADD COLUMN %s", name, columnClause(c))
				continue
			}
			alterColumn(d, name, o, c)
		}
	}
	for _, k := range sorted(to.sequences) {
		s := to.sequences[k]
		old, ok := from.sequences[k]
		if s.ownerTable != "" && (!ok || old.ownerTable != s.ownerTable || old.ownerColumn != s.ownerColumn) {
			d.add("ALTER SEQUENCE %s OWNED BY %s.%s", k, s.ownerTable, s.ownerColumn)
		} else if ok && s.ownerTable == "" && old.ownerTable != "" {
			d.add("ALTER SEQUENCE %s OWNED BY NONE", k)
		}
	}
}

// columnClause is a column's definition as CREATE TABLE and ADD COLUMN take it.
func columnClause(c column) string {
	var b strings.Builder
	b.WriteString(c.name + " " + c.typ)
	if c.collation != "" {
		b.WriteString(" COLLATE " + c.collation)
	}
	switch {
	case c.identity != "":
		b.WriteString(" " + identityClause(c.identity))
	case c.generated == "s":
		b.WriteString(" GENERATED ALWAYS AS (" + c.def + ") STORED")
	case c.def != "":
		b.WriteString(" DEFAULT " + c.def)
	}
	if c.notNull {
		b.WriteString(" NOT NULL")
	}
	return b.String()
}

func identityClause(identity string) string {
	if identity == "a" {
		return "GENERATED ALWAYS AS IDENTITY"
	}
	return "GENERATED BY DEFAULT AS IDENTITY"
}

// alterColumn changes one column in place: the default goes before a type change (it may not
// fit the new type) and comes back after it; NOT NULL goes before an identity is added.
func alterColumn(d *ddl, table string, from, to column) {
	col := "ALTER TABLE " + table + " ALTER COLUMN " + to.name
	retype := from.typ != to.typ || from.collation != to.collation
	defaultChanged := from.def != to.def || retype
	if from.def != "" && from.identity == "" && defaultChanged {
		d.add("%s DROP DEFAULT", col)
	}
	if from.identity != "" && to.identity == "" {
		d.add("%s DROP IDENTITY", col)
	}
	if retype {
		collate := ""
		if to.collation != "" {
			collate = " COLLATE " + to.collation
		}
		d.add("%s TYPE %s%s USING %s::%s", col, to.typ, collate, to.name, to.typ)
	}
	if from.notNull != to.notNull {
		if to.notNull {
			d.add("%s SET NOT NULL", col)
		} else {
			d.add("%s DROP NOT NULL", col)
		}
	}
	switch {
	case from.identity == "" && to.identity != "":
		d.add("%s ADD %s", col, identityClause(to.identity))
	case from.identity != "" && to.identity != "" && from.identity != to.identity:
		d.add("%s SET %s", col, strings.TrimSuffix(identityClause(to.identity), " AS IDENTITY"))
	}
	if to.def != "" && to.identity == "" && defaultChanged {
		d.add("%s SET DEFAULT %s", col, to.def)
	}
}

// createDependents creates functions (after the tables their signatures may name), then
// constraints, indexes, row-level security, triggers, policies and comments.
func createDependents(d *ddl, from, to *snapshot) {
	first := true
	for _, k := range sorted(to.functions) {
		f := to.functions[k]
		if old, ok := from.functions[k]; ok && old.def == f.def {
			continue
		}
		if first {
			// Bodies may name objects created further down; PostgreSQL checks them when called.
			d.add("SET LOCAL check_function_bodies = off")
			first = false
		}
		d.stmts = append(d.stmts, strings.TrimRight(f.def, "\n ")+";")
	}
	for _, fk := range []bool{false, true} {
		for _, name := range sorted(to.tables) {
			t := to.tables[name]
			for _, cn := range sorted(t.cons) {
				c := t.cons[cn]
				if (c.kind == "f") != fk {
					continue
				}
				if old := from.tables[name]; old != nil {
					if o, ok := old.cons[cn]; ok && o.def == c.def {
						continue
					}
				}
				d.add("ALTER TABLE %s ADD CONSTRAINT %s %s", name, c.name, c.def)
			}
		}
	}
	for _, k := range sorted(to.indexes) {
		if old, ok := from.indexes[k]; !ok || old.def != to.indexes[k].def {
			d.add("%s", to.indexes[k].def)
		}
	}
	for _, name := range sorted(to.tables) {
		t, old := to.tables[name], from.tables[name]
		if old == nil {
			old = &table{}
		}
		if t.rls != old.rls {
			d.add("ALTER TABLE %s %s ROW LEVEL SECURITY", name, map[bool]string{true: "ENABLE", false: "DISABLE"}[t.rls])
		}
		if t.forceRLS != old.forceRLS {
			d.add("ALTER TABLE %s %s ROW LEVEL SECURITY", name, map[bool]string{true: "FORCE", false: "NO FORCE"}[t.forceRLS])
		}
	}
	for _, k := range sorted(to.triggers) {
		t := to.triggers[k]
		old, ok := from.triggers[k]
		recreate := !ok || old.def != t.def || from.tables[t.table] == nil
		if recreate {
			d.add("%s", t.def)
		}
		if (recreate && t.enabled != "O") || (!recreate && old.enabled != t.enabled) {
			d.add("ALTER TABLE %s %s TRIGGER %s", t.table, triggerState(t.enabled), t.name)
		}
	}
	for _, k := range sorted(to.policies) {
		p := to.policies[k]
		if old, ok := from.policies[k]; ok && samePolicy(old, p) && from.tables[p.table] != nil {
			continue
		}
		d.add("%s", createPolicy(p))
	}
	for _, name := range sorted(to.tables) {
		t, old := to.tables[name], from.tables[name]
		if old == nil {
			old = &table{columnSet: map[string]column{}}
		}
		if t.comment != old.comment {
			d.add("COMMENT ON TABLE %s IS %s", name, commentLiteral(t.comment))
		}
		for _, c := range t.columns {
			if o := old.columnSet[c.name]; o.comment != c.comment {
				d.add("COMMENT ON COLUMN %s.%s IS %s", name, c.name, commentLiteral(c.comment))
			}
		}
	}
}

func triggerState(enabled string) string {
	switch enabled {
	case "D":
		return "DISABLE"
	case "R":
		return "ENABLE REPLICA"
	case "A":
		return "ENABLE ALWAYS"
	}
	return "ENABLE"
}

func samePolicy(a, b policy) bool {
	return a.permissive == b.permissive && a.cmd == b.cmd && slices.Equal(a.roles, b.roles) && a.using == b.using && a.check == b.check
}

var policyCommands = map[string]string{"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}

func createPolicy(p policy) string {
	as := "PERMISSIVE"
	if !p.permissive {
		as = "RESTRICTIVE"
	}
	s := fmt.Sprintf("CREATE POLICY %s ON %s AS %s FOR %s TO %s", p.name, p.table, as, policyCommands[p.cmd], strings.Join(p.roles, ", "))
	if p.using != "" {
		s += " USING (" + p.using + ")"
	}
	if p.check != "" {
		s += " WITH CHECK (" + p.check + ")"
	}
	return s
}

// literal quotes s as a standard SQL string (standard_conforming_strings is on in every
// supported PostgreSQL, so a backslash is an ordinary character).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func literals(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = literal(s)
	}
	return strings.Join(out, ", ")
}

func commentLiteral(s string) string {
	if s == "" {
		return "NULL"
	}
	return literal(s)
}
