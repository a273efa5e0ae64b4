package usermigrations

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
)

//go:embed sql/*.sql
var introspection embed.FS

func query(name string) string {
	b, err := introspection.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic(err) // embedded at build time: a missing file is a build mistake
	}
	return string(b)
}

// InternalSchemas are Go Forward's own schemas, left to its internal migrations: Diff
// compares every other schema unless told which.
var InternalSchemas = []string{"auth", "storage", "goforward", "realtime"}

// snapshot is what Diff compares of one database: the objects of the managed schemas, each
// keyed by its quoted, schema-qualified name and described by PostgreSQL's own definitions.
type snapshot struct {
	schemas    map[string]string // name -> quoted
	extensions map[string]string // quoted name -> quoted schema
	enums      map[string][]string
	sequences  map[string]sequence
	tables     map[string]*table
	indexes    map[string]index
	functions  map[string]function
	triggers   map[string]trigger // table + " " + name
	policies   map[string]policy  // table + " " + name
}

type table struct {
	name      string
	columns   []column
	cons      map[string]constraint
	rls       bool
	forceRLS  bool
	comment   string
	columnSet map[string]column
}

type column struct {
	name      string
	typ       string
	notNull   bool
	identity  string // "a" always, "d" by default, "" none
	generated string // "s": stored generated column, default holds its expression
	def       string
	collation string
	comment   string
}

type constraint struct {
	table, name, kind, def string
}

type index struct {
	name, table, def string
}

type function struct {
	key, kind, def, result, args string
}

type trigger struct {
	table, name, def, enabled string
}

type policy struct {
	table, name string
	permissive  bool
	cmd         string
	roles       []string
	using       string
	check       string
}

type sequence struct {
	name, typ                 string
	start, inc, minv, maxv, c int64
	cycle                     bool
	// ownerTable and ownerColumn name the column that owns the sequence (a serial column's);
	// "" for a sequence of its own.
	ownerTable, ownerColumn string
}

// managedSchemas lists the schemas Diff compares in one database: only (when given) or all
// but the internal ones.
func managedSchemas(ctx context.Context, q querier, only []string) (map[string]string, error) {
	var restrict any
	if len(only) > 0 {
		restrict = only
	}
	rows, err := q.Query(ctx, query("schemas"), InternalSchemas, restrict)
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	out := map[string]string{}
	var name, quoted string
	_, err = pgx.ForEachRow(rows, []any{&name, &quoted}, func() error {
		out[name] = quoted
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	return out, nil
}

// takeSnapshot reads the objects of the schemas named in one transaction; schemas are the
// ones of them this database has. The caller has set an empty search_path, so that every
// definition names its objects with their schemas.
func takeSnapshot(ctx context.Context, tx pgx.Tx, schemas map[string]string, names []string, restricted bool) (*snapshot, error) {
	var extensionSchemas any
	if restricted {
		extensionSchemas = names
	}
	s := &snapshot{schemas: schemas, extensions: map[string]string{}, enums: map[string][]string{},
		sequences: map[string]sequence{}, tables: map[string]*table{}, indexes: map[string]index{},
		functions: map[string]function{}, triggers: map[string]trigger{}, policies: map[string]policy{}}
	type reader struct {
		name string
		args []any
		dest func() []any
		add  func()
	}
	var (
		t                 table
		c                 column
		con               constraint
		ix                index
		fn                function
		tg                trigger
		p                 policy
		sq                sequence
		qname, extSchema  string
		labels            []string
		extName, tableKey string
	)
	readers := []reader{
		{"tables", []any{names}, func() []any { return []any{&t.name, &t.rls, &t.forceRLS, &t.comment} }, func() {
			tt := t
			tt.cons, tt.columnSet = map[string]constraint{}, map[string]column{}
			s.tables[t.name] = &tt
		}},
		{"columns", []any{names}, func() []any {
			return []any{&tableKey, &c.name, &c.typ, &c.notNull, &c.identity, &c.generated, &c.def, &c.collation, &c.comment}
		}, func() {
			if tt := s.tables[tableKey]; tt != nil {
				tt.columns = append(tt.columns, c)
				tt.columnSet[c.name] = c
			}
		}},
		{"constraints", []any{names}, func() []any { return []any{&con.table, &con.name, &con.kind, &con.def} }, func() {
			if tt := s.tables[con.table]; tt != nil {
				tt.cons[con.name] = con
			}
		}},
		{"indexes", []any{names}, func() []any { return []any{&ix.name, &ix.table, &ix.def} }, func() { s.indexes[ix.name] = ix }},
		{"policies", []any{names}, func() []any {
			return []any{&p.table, &p.name, &p.permissive, &p.cmd, &p.roles, &p.using, &p.check}
		}, func() {
			pp := p
			pp.roles = append([]string(nil), p.roles...)
			s.policies[p.table+" "+p.name] = pp
		}},
		{"triggers", []any{names}, func() []any { return []any{&tg.table, &tg.name, &tg.def, &tg.enabled} }, func() {
			s.triggers[tg.table+" "+tg.name] = tg
		}},
		{"functions", []any{names}, func() []any { return []any{&fn.key, &fn.kind, &fn.def, &fn.result, &fn.args} }, func() {
			s.functions[fn.key] = fn
		}},
		{"sequences", []any{names}, func() []any {
			return []any{&sq.name, &sq.typ, &sq.start, &sq.inc, &sq.minv, &sq.maxv, &sq.c, &sq.cycle, &sq.ownerTable, &sq.ownerColumn}
		}, func() { s.sequences[sq.name] = sq }},
		{"enums", []any{names}, func() []any { return []any{&qname, &labels} }, func() {
			s.enums[qname] = append([]string(nil), labels...)
		}},
		{"extensions", []any{extensionSchemas}, func() []any { return []any{&extName, &extSchema} }, func() { s.extensions[extName] = extSchema }},
	}
	for _, r := range readers {
		rows, err := tx.Query(ctx, query(r.name), r.args...)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", r.name, err)
		}
		if _, err := pgx.ForEachRow(rows, r.dest(), func() error { r.add(); return nil }); err != nil {
			return nil, fmt.Errorf("read %s: %w", r.name, err)
		}
	}
	return s, nil
}

// inspect takes the snapshot of the database conn is connected to: the schemas named, of
// which it has those in schemas. Restricted (the caller chose the schemas): extensions only
// count when installed in one of them.
func inspect(ctx context.Context, conn *pgx.Conn, schemas map[string]string, names []string, restricted bool) (*snapshot, error) {
	var out *snapshot
	err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL search_path = ''"); err != nil {
			return err
		}
		var err error
		out, err = takeSnapshot(ctx, tx, schemas, names, restricted)
		return err
	})
	return out, err
}
