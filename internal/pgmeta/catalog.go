package pgmeta

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

func mustSQL(name string) string {
	b, err := sqlFiles.ReadFile("sql/" + name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var columnsCTE = mustSQL("columns_cte.sql")

// withColumns fills a relation query's placeholders so that each relation carries its
// columns, or leaves them out.
func withColumns(sql string, columns bool) string {
	cte, field, join := "", "", ""
	if columns {
		cte = columnsCTE
		field = ", coalesce(rc.columns, '[]'::json) AS columns"
		join = "LEFT JOIN rel_cols rc ON rc.table_id = r.oid"
	}
	return strings.NewReplacer("{{COLUMNS_CTE}}", cte, "{{COLUMNS_FIELD}}", field, "{{COLUMNS_JOIN}}", join).Replace(sql)
}

// getKind is how a resource's single-item route names the item.
type getKind int

const (
	getNone   getKind = iota
	getByID           // /{id}, an oid
	getByName         // /{name} (extensions)
	getColumn         // /{table_id}.{ordinal_position}
)

// columnsDefault says whether a relation resource carries its columns when include_columns is
// not given (postgres-meta: tables, views and foreign tables do, materialized views do not).
type columnsDefault int

const (
	noColumns columnsDefault = iota
	columnsByDefault
	columnsOnRequest
)

// resource is one of postgres-meta's catalog lists.
type resource struct {
	path string // under Prefix, e.g. "tables"
	// sql and sqlBare are the query with and without columns (the same for other resources).
	sql, sqlBare  string
	columns       columnsDefault
	excludeSystem bool // leave out systemSchemas unless include_system_schemas
	get           getKind
	noun          string // "a table", for postgres-meta's "Cannot find a table with ID 5"
}

func relation(path, file string, cols columnsDefault, excludeSystem bool, noun string) resource {
	sql := mustSQL(file)
	return resource{path: path, sql: withColumns(sql, true), sqlBare: withColumns(sql, false),
		columns: cols, excludeSystem: excludeSystem, get: getByID, noun: noun}
}

func plain(path, file string, excludeSystem bool, get getKind, noun string) resource {
	sql := mustSQL(file)
	return resource{path: path, sql: sql, sqlBare: sql, excludeSystem: excludeSystem, get: get, noun: noun}
}

// resources are the catalog lists, in postgres-meta's routes.
var resources = []resource{
	relation("tables", "tables.sql", columnsByDefault, true, "a table"),
	{path: "columns", sql: withColumns(mustSQL("columns.sql"), true), excludeSystem: true, get: getColumn, noun: "a column"},
	relation("views", "views.sql", columnsByDefault, true, "a view"),
	relation("materialized-views", "materialized_views.sql", columnsOnRequest, false, "a materialized view"),
	relation("foreign-tables", "foreign_tables.sql", columnsByDefault, false, "a foreign table"),
	plain("schemas", "schemas.sql", true, getByID, "a schema"),
	plain("extensions", "extensions.sql", false, getByName, "an extension"),
	plain("functions", "functions.sql", true, getByID, "a function"),
	plain("triggers", "triggers.sql", true, getByID, "a trigger"),
	plain("types", "types.sql", true, getNone, "a type"),
	plain("policies", "policies.sql", true, getByID, "a policy"),
	plain("publications", "publications.sql", false, getByID, "a publication"),
	plain("roles", "roles.sql", false, getByID, "a role"),
	plain("indexes", "indexes.sql", true, getByID, "an index"),
	plain("table-privileges", "table_privileges.sql", true, getNone, "a relation"),
	plain("column-privileges", "column_privileges.sql", true, getNone, "a column"),
	plain("config", "config.sql", false, getNone, "a setting"),
}

var versionSQL = mustSQL("version.sql")

// query is one catalog query: its SQL and named arguments. Arguments a query does not use are
// ignored (pgx.NamedArgs); a missing one is NULL, which every query reads as "no filter".
type query struct {
	sql  string
	args pgx.NamedArgs
}

// listQuery builds res's query for a list request.
func (res resource) listQuery(p listParams) query {
	included, excluded := p.schemaFilter(res.excludeSystem)
	sql := res.sql
	switch res.columns {
	case columnsByDefault:
		if p.includeColumns != nil && !*p.includeColumns {
			sql = res.sqlBare
		}
	case columnsOnRequest:
		if p.includeColumns == nil || !*p.includeColumns {
			sql = res.sqlBare
		}
	}
	return query{sql: sql, args: pgx.NamedArgs{
		"included": included, "excluded": excluded, "limit": p.limit, "offset": p.offset,
		"include_system":        p.includeSystemSchemas,
		"include_array_types":   p.includeArrayTypes,
		"include_table_types":   false,
		"include_default_roles": p.includeDefaultRoles,
	}}
}

// itemQuery builds res's query for one item: every schema, columns included, pg_* roles too.
func (res resource) itemQuery() query {
	return query{sql: res.sql, args: pgx.NamedArgs{
		"included": []string{}, "excluded": []string{},
		"include_system": true, "include_array_types": true, "include_default_roles": true,
	}}
}

// querier is what catalog queries run through: the pool, or a snapshot's transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// jsonArray runs a catalog query, whose rows are one JSON object each, and joins them into a
// JSON array. Joining here rather than with json_agg spares PostgreSQL a copy of the whole
// answer (megabytes for a large schema).
//
// The query runs as an unnamed statement, planned for its actual arguments every time: as a
// cached prepared statement PostgreSQL switches to a generic plan after five runs, and the
// generic plan of these queries (every filter "NULL or …") nests loops over the catalogs,
// taking GET /pg/tables on 500 tables from a fraction of a second to over 30.
func jsonArray(ctx context.Context, db querier, q query) ([]byte, error) {
	rows, err := db.Query(ctx, q.sql, pgx.QueryExecModeExec, q.args)
	if err != nil {
		return nil, fmt.Errorf("pgmeta: catalog query: %w", err)
	}
	defer rows.Close()
	var buf bytes.Buffer
	buf.WriteByte('[')
	for rows.Next() {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(rows.RawValues()[0])
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgmeta: catalog query: %w", err)
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// run runs a catalog query on the pool.
func (s *Service) run(ctx context.Context, q query) ([]byte, error) {
	return jsonArray(ctx, s.pool, q)
}

// list serves a resource's list route.
func (s *Service) list(res resource) func(http.ResponseWriter, *http.Request, access.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
		p, err := parseList(r.URL.Query())
		if err != nil {
			return err
		}
		body, err := s.run(r.Context(), res.listQuery(p))
		if err != nil {
			return err
		}
		return writeRaw(w, http.StatusOK, body)
	}
}

// get serves a resource's single-item route: postgres-meta answers 404 with "Cannot find …"
// for an id that names nothing.
func (s *Service) get(res resource) func(http.ResponseWriter, *http.Request, access.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
		raw := r.PathValue("id")
		q := res.itemQuery()
		missing := notFound("Cannot find %s with ID %s", res.noun, raw)
		switch res.get {
		case getByName:
			q.args["names"] = []string{raw}
			missing = notFound("Cannot find %s named %s", res.noun, raw)
		case getColumn:
			table, pos, hasPos := strings.Cut(raw, ".")
			id, err := strconv.ParseInt(table, 10, 64)
			if err != nil || id <= 0 {
				return missing
			}
			q.args["ids"] = []int64{id}
			if !hasPos {
				// The columns of one table (postgres-meta answers only the first of them).
				body, err := s.run(r.Context(), q)
				if err != nil {
					return err
				}
				return writeRaw(w, http.StatusOK, body)
			}
			n, err := strconv.ParseInt(pos, 10, 16)
			if err != nil || n <= 0 {
				return missing
			}
			q.args["attnum"] = int16(n)
		default:
			id, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || id <= 0 {
				return missing
			}
			q.args["ids"] = []int64{id}
		}
		body, err := s.run(r.Context(), q)
		if err != nil {
			return err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return fmt.Errorf("pgmeta: decode %s: %w", res.path, err)
		}
		if len(items) == 0 {
			return missing
		}
		return writeRaw(w, http.StatusOK, items[0])
	}
}

// version serves GET /config/version.
func (s *Service) version(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	var body []byte
	if err := s.pool.QueryRow(r.Context(), versionSQL).Scan(&body); err != nil {
		return fmt.Errorf("pgmeta: version: %w", err)
	}
	return writeRaw(w, http.StatusOK, body)
}

// writeRaw sends JSON the database already encoded.
func writeRaw(w http.ResponseWriter, status int, body []byte) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}
