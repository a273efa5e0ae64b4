package pgmeta

import (
	_ "embed"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

//go:embed ts/helpers.ts
var tsHelpers string

// typescript serves GET /generators/typescript: the TypeScript Database type that `supabase
// gen types typescript` writes, so that createClient<Database>() type-checks table rows,
// inserts, updates, embedded relationships, RPC arguments and results, and enums.
func (s *Service) typescript(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	p, err := parseList(r.URL.Query())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	oneToOne, err := boolParam(q, "detect_one_to_one_relationships")
	if err != nil {
		return err
	}
	var in tsInput
	err = s.snapshot(r.Context(), func(tx pgx.Tx) error {
		in, err = loadTSInput(r.Context(), tx, p)
		return err
	})
	if err != nil {
		return err
	}
	g := newTSGenerator(in, tsOptions{detectOneToOne: oneToOne, postgrestVersion: q.Get("postgrest_version"), defaultSchema: "public"})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(g.render()))
	return err
}

type tsOptions struct {
	detectOneToOne   bool   // write isOneToOne in relationships
	postgrestVersion string // when set, Database.__InternalSupabase.PostgrestVersion
	defaultSchema    string // the schema the helper types (Tables<"posts">) default to
}

// tsEntry is a table or view of a schema with the relationships it holds.
type tsEntry struct {
	rel           tsRelation
	relationships []relationship
}

// tsFn is a function PostgREST can call, with its input arguments.
type tsFn struct {
	fn     tsFunction
	inArgs []tsArg
}

type tsSchemaObjects struct {
	tables, views     []tsEntry
	functions         []tsFn
	enums, composites []*tsType
}

// tsGenerator writes the Database type. It follows the rules of postgres-meta's TypeScript
// template (which functions PostgREST exposes, how each PostgreSQL type maps to TypeScript,
// which columns an insert may leave out), so the output reads as supabase CLI's does.
type tsGenerator struct {
	in          tsInput
	opt         tsOptions
	colsByTable map[int64][]tsColumn
	relNames    map[int64]string  // tables, foreign tables, views and materialized views by id
	typesByID   map[int64]*tsType // every type
	relTypes    map[int64]*tsType // row types (composite types and relations' row types) by type id
	bySchema    map[string]*tsSchemaObjects
}

var (
	// json, jsonb and text: the types a single unnamed argument may have for PostgREST.
	validUnnamedArgTypes = []int64{114, 3802, 25}
	inArgModes           = []string{"in", "inout", "variadic"}
)

func newTSGenerator(in tsInput, opt tsOptions) *tsGenerator {
	g := &tsGenerator{in: in, opt: opt, colsByTable: map[int64][]tsColumn{}, relNames: map[int64]string{},
		typesByID: map[int64]*tsType{}, relTypes: map[int64]*tsType{}, bySchema: map[string]*tsSchemaObjects{}}
	sortByName(g.in.schemas, func(s tsSchema) string { return s.Name })
	slices.SortStableFunc(g.in.relationships, func(a, b relationship) int {
		if c := localeCompare(a.ForeignKeyName, b.ForeignKeyName); c != 0 {
			return c
		}
		if c := localeCompare(a.ReferencedRelation, b.ReferencedRelation); c != 0 {
			return c
		}
		return localeCompare(tsStrings(a.ReferencedColumns), tsStrings(b.ReferencedColumns))
	})
	for _, s := range g.in.schemas {
		g.bySchema[s.Name] = &tsSchemaObjects{}
	}
	for _, list := range [][]tsRelation{in.tables, in.foreignTables, in.views, in.materialized} {
		for _, r := range list {
			g.colsByTable[r.ID] = []tsColumn{}
			g.relNames[r.ID] = r.Name
		}
	}
	for _, c := range in.columns {
		if cols, ok := g.colsByTable[c.TableID]; ok {
			g.colsByTable[c.TableID] = append(cols, c)
		}
	}
	for id := range g.colsByTable {
		sortByName(g.colsByTable[id], func(c tsColumn) string { return c.Name })
	}
	for i := range g.in.types {
		t := &g.in.types[i]
		g.typesByID[t.ID] = t
		if t.TypeRelationID != nil {
			g.relTypes[t.ID] = t
		}
		if so, ok := g.bySchema[t.Schema]; ok {
			if len(t.Enums) > 0 {
				so.enums = append(so.enums, t)
			}
			if len(t.Attributes) > 0 {
				so.composites = append(so.composites, t)
			}
		}
	}
	byRelation := map[string][]relationship{}
	for _, r := range g.in.relationships {
		key := r.Schema + "." + r.Relation
		byRelation[key] = append(byRelation[key], r)
	}
	relationshipsOf := func(r tsRelation) []relationship {
		var out []relationship
		for _, c := range byRelation[r.Schema+"."+r.Name] {
			if c.ReferencedSchema == r.Schema {
				out = append(out, c)
			}
		}
		return out
	}
	for _, list := range [][]tsRelation{in.tables, in.foreignTables} {
		for _, t := range list {
			if so, ok := g.bySchema[t.Schema]; ok {
				so.tables = append(so.tables, tsEntry{rel: t, relationships: relationshipsOf(t)})
			}
		}
	}
	for _, v := range in.views {
		if so, ok := g.bySchema[v.Schema]; ok {
			so.views = append(so.views, tsEntry{rel: v, relationships: relationshipsOf(v)})
		}
	}
	for _, m := range in.materialized {
		if so, ok := g.bySchema[m.Schema]; ok {
			m.IsUpdatable = false
			so.views = append(so.views, tsEntry{rel: m, relationships: relationshipsOf(m)})
		}
	}
	for _, fn := range in.functions {
		so, ok := g.bySchema[fn.Schema]
		if !ok {
			continue
		}
		fn.Args = slices.Clone(fn.Args)
		sortByName(fn.Args, func(a tsArg) string { return a.Name })
		var inArgs []tsArg
		for _, a := range fn.Args {
			if slices.Contains(inArgModes, a.Mode) {
				inArgs = append(inArgs, a)
			}
		}
		if g.exposed(inArgs) {
			so.functions = append(so.functions, tsFn{fn: fn, inArgs: inArgs})
		}
	}
	for _, so := range g.bySchema {
		sortByName(so.tables, func(e tsEntry) string { return e.rel.Name })
		sortByName(so.views, func(e tsEntry) string { return e.rel.Name })
		sortByName(so.functions, func(f tsFn) string { return f.fn.Name })
		sortByName(so.enums, func(t *tsType) string { return t.Name })
		sortByName(so.composites, func(t *tsType) string { return t.Name })
	}
	return g
}

// exposed reports whether PostgREST can call a function with these input arguments: none,
// all named, every unnamed one defaulted and of a type PostgREST accepts unnamed, or a single
// unnamed json, jsonb, text or row-type argument.
func (g *tsGenerator) exposed(inArgs []tsArg) bool {
	if len(inArgs) == 0 || !slices.ContainsFunc(inArgs, func(a tsArg) bool { return a.Name == "" }) {
		return true
	}
	allDefaulted := true
	for _, a := range inArgs {
		if a.Name == "" && !(a.HasDefault && slices.Contains(validUnnamedArgTypes, a.TypeID)) {
			allDefaulted = false
		}
	}
	if allDefaulted {
		return true
	}
	if len(inArgs) == 1 && inArgs[0].Name == "" {
		_, isRow := g.relTypes[inArgs[0].TypeID]
		return slices.Contains(validUnnamedArgTypes, inArgs[0].TypeID) || isRow
	}
	return false
}

func (g *tsGenerator) hasSchema(name string) bool { return g.bySchema[name] != nil }

// tsType maps a PostgreSQL type name (pg_type.typname) to TypeScript, seen from schema.
func (g *tsGenerator) tsType(schema, pgType string) string {
	switch pgType {
	case "bool":
		return "boolean"
	case "int2", "int4", "int8", "float4", "float8", "numeric":
		return "number"
	case "bytea", "bpchar", "varchar", "date", "text", "citext", "time", "timetz", "timestamp", "timestamptz",
		"uuid", "vector", "interval":
		return "string"
	case "json", "jsonb":
		return "Json"
	case "void":
		return "undefined"
	case "record":
		return "Record<string, unknown>"
	}
	if strings.HasPrefix(pgType, "_") {
		elem := g.tsType(schema, pgType[1:])
		if strings.ContainsAny(elem, "|&") {
			elem = "(" + elem + ")"
		}
		return elem + "[]"
	}
	pick := func(match func(t *tsType) bool) *tsType {
		var first *tsType
		for i := range g.in.types {
			t := &g.in.types[i]
			if t.Name != pgType || !match(t) {
				continue
			}
			if t.Schema == schema {
				return t
			}
			if first == nil {
				first = t
			}
		}
		return first
	}
	if t := pick(func(t *tsType) bool { return len(t.Enums) > 0 }); t != nil {
		if g.hasSchema(t.Schema) {
			return fmt.Sprintf(`Database[%s]["Enums"][%s]`, tsString(t.Schema), tsString(t.Name))
		}
		return enumUnion(t.Enums)
	}
	if t := pick(func(t *tsType) bool { return len(t.Attributes) > 0 }); t != nil {
		if g.hasSchema(t.Schema) {
			return fmt.Sprintf(`Database[%s]["CompositeTypes"][%s]`, tsString(t.Schema), tsString(t.Name))
		}
		return "unknown"
	}
	for _, kind := range []struct {
		list []tsRelation
		key  string
	}{{g.in.tables, "Tables"}, {g.in.views, "Views"}} {
		var found *tsRelation
		for i := range kind.list {
			r := &kind.list[i]
			if r.Name != pgType {
				continue
			}
			if found == nil || (r.Schema == schema && found.Schema != schema) {
				found = r
			}
		}
		if found != nil {
			if g.hasSchema(found.Schema) {
				return fmt.Sprintf(`Database[%s][%s][%s]["Row"]`, tsString(found.Schema), tsString(kind.key), tsString(found.Name))
			}
			return "unknown"
		}
	}
	return "unknown"
}

func enumUnion(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = tsString(v)
	}
	return strings.Join(quoted, " | ")
}

// typeOf maps a type by id, "unknown" when it is not known.
func (g *tsGenerator) typeOf(schema string, id int64) string {
	if t, ok := g.typesByID[id]; ok {
		return g.tsType(schema, t.Name)
	}
	return "unknown"
}

// column writes one member of a Row, Insert or Update type.
func (g *tsGenerator) column(schema string, c tsColumn, optional, isNullable bool) string {
	q := ""
	if optional {
		q = "?"
	}
	return tsKey(c.Name) + q + ": " + nullable(g.tsType(schema, c.Format), isNullable)
}

// relationName is the name of the relation a function returns rows of: one of the chosen
// relations, or else the composite type it returns.
func (g *tsGenerator) relationName(relID *int64, returnTypeID int64) string {
	if relID == nil || *relID == 0 {
		return ""
	}
	if name, ok := g.relNames[*relID]; ok {
		return name
	}
	if t, ok := g.relTypes[returnTypeID]; ok {
		return t.Name
	}
	return ""
}
