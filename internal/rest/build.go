package rest

import (
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/meta"
)

// Statement is a query rendered as SQL. Every value from the request is a bind argument;
// every identifier is one the planner found in the schema cache, quoted.
//
// The statement returns one row: total (the count asked for with Prefer: count, or NULL),
// page (rows in this response), body (the response, built by PostgreSQL), location (the
// primary key of an inserted row, for the Location header, or NULL), response_headers and
// response_status (the response.headers and response.status settings, or NULL) and inserted
// (how many rows an upsert inserted rather than updated, or NULL for other requests).
type Statement struct {
	SQL  string
	Args []any
	// Explain, when set, estimates the total for count=planned and count=estimated; its one
	// row holds EXPLAIN (FORMAT JSON) output.
	Explain *Statement
}

// resultAlias names the subquery whose rows become the response body.
const resultAlias = `"_pgrst_t"`

// sourceCTE names the rows a mutation returned.
const sourceCTE = `"pgrst_source"`

// responseSettingsColumns reads response.headers and response.status, which SQL run by the request
// (a function, a trigger, a policy) may set with set_config(..., true). They are output columns
// of the aggregating SELECT, so they are evaluated once every row of the subquery (and so every
// call of the function) has been produced; AFTER triggers of a write fire later, at the end
// of the statement. current_setting is STABLE, never folded into a plan, so a prepared
// statement reads them afresh on every execution.
const responseSettingsColumns = "nullif(current_setting('response.headers', true), '') AS response_headers, " +
	"nullif(current_setting('response.status', true), '') AS response_status"

// BuildOptions are the service settings rendering depends on.
type BuildOptions struct {
	// MaxRows bounds the exact part of count=estimated; 0 makes estimated counts exact.
	MaxRows int64
}

// Build renders q as one SQL statement (plus an EXPLAIN for planned counts).
func Build(q *Query, opts BuildOptions) Statement {
	switch q.kind {
	case kindRead:
		return buildSelect(q, quoteQualified(q.table.QName)+" AS "+quoteIdent(q.root.alias), opts)
	case kindCall:
		g := &gen{}
		from := g.callFrom(q)
		return buildSelectWith(g, q, from, opts, func(g2 *gen) string { return g2.callFrom(q) })
	default:
		return buildWrite(q)
	}
}

// quoteIdent quotes s as pgx.Identifier.Sanitize does. Names without a double quote or NUL,
// which is nearly every name, take one concatenation instead of Sanitize's replacements and
// join: the SQL of every request quotes each of its columns.
func quoteIdent(s string) string {
	if plainIdent(s) {
		return `"` + s + `"`
	}
	return pgx.Identifier{s}.Sanitize()
}

func quoteQualified(q meta.QName) string {
	if plainIdent(q.Schema) && plainIdent(q.Name) {
		return `"` + q.Schema + `"."` + q.Name + `"`
	}
	return pgx.Identifier{q.Schema, q.Name}.Sanitize()
}

// plainIdent reports whether Sanitize would only wrap s in double quotes.
func plainIdent(s string) bool { return !strings.ContainsAny(s, "\"\x00") }

// gen accumulates bind arguments while SQL text is produced.
type gen struct {
	args []any
}

func (g *gen) arg(v any) string {
	g.args = append(g.args, v)
	return "$" + strconv.Itoa(len(g.args))
}

// parts are the clauses of one node's SELECT, kept apart so the count can reuse FROM/WHERE.
type parts struct {
	selectList string
	from       string
	joins      string
	where      string
	group      string
	order      string
	limit      string
}

func (p parts) sql() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(p.selectList)
	b.WriteString(" FROM ")
	b.WriteString(p.from)
	b.WriteString(p.joins)
	b.WriteString(p.where)
	b.WriteString(p.group)
	b.WriteString(p.order)
	b.WriteString(p.limit)
	return b.String()
}

// filtered is FROM, the joins and WHERE: the rows a count counts.
func (p parts) filtered() string { return p.from + p.joins + p.where }

// nodeParts renders n read from `from` (which includes n's alias), with extra join
// conditions. full adds the select list, order and paging; without it only what filters.
func (g *gen) nodeParts(n *node, from string, joinConds []string, full bool) parts {
	p := parts{from: from}
	if full && n.grouped {
		p.selectList, p.group = g.groupedSelect(n)
	} else if full {
		p.selectList = g.selectList(n)
	}
	var joins strings.Builder
	for _, child := range n.children {
		joins.WriteString(" ")
		joins.WriteString(g.lateral(n, child))
	}
	p.joins = joins.String()
	conds := append([]string(nil), joinConds...)
	for _, c := range n.where {
		conds = append(conds, g.cond(n, c))
	}
	if len(conds) > 0 {
		p.where = " WHERE " + strings.Join(conds, " AND ")
	}
	if !full {
		return p
	}
	if len(n.order) > 0 {
		terms := make([]string, len(n.order))
		for i, o := range n.order {
			terms[i] = g.orderTerm(n, o)
		}
		p.order = " ORDER BY " + strings.Join(terms, ", ")
	}
	if n.limit != nil {
		// The limit is written into the statement, not bound: with LIMIT $n PostgreSQL's
		// generic plan assumes a tenth of the rows, costs more than a plan for the real
		// limit, and so is never chosen; every execution of a filtered page or an embed was
		// then planned again (~0.3 ms). A literal integer keeps the generic plan cheap. It
		// is an int64 the parser produced, never request text; OFFSET stays bound, so that
		// paging does not create a statement per page.
		p.limit += " LIMIT " + strconv.FormatInt(*n.limit, 10)
	}
	if n.offset != nil {
		p.limit += " OFFSET " + g.arg(*n.offset)
	}
	return p
}

func (g *gen) selectList(n *node) string {
	var items []string
	for _, f := range n.fields {
		if s := g.field(n, f); s != "" {
			items = append(items, s)
		}
	}
	return strings.Join(items, ", ")
}

func (g *gen) field(n *node, f outField) string {
	if f.star {
		return quoteIdent(n.alias) + ".*"
	}
	if child := f.embed; child != nil {
		if len(child.fields) == 0 {
			return ""
		}
		lat := quoteIdent(child.lateral)
		switch {
		case child.spread && child.rel.ToOne():
			return lat + ".*"
		case child.spread:
			outs := spreadOutputs(child)
			items := make([]string, len(outs))
			for i, out := range outs {
				items[i] = lat + "." + quoteIdent(out.name)
			}
			return strings.Join(items, ", ")
		case child.rel.ToOne():
			return "row_to_json(" + lat + ".*) AS " + quoteIdent(child.name)
		default:
			return "coalesce(" + lat + `."j", '[]') AS ` + quoteIdent(child.name)
		}
	}
	var expr string
	switch {
	case f.agg != nil && f.agg.all && f.agg.hoisted:
		// The parent counts the rows this spread matched.
		expr = "1"
	case f.agg != nil && f.agg.all:
		expr = "*"
	case f.countRows:
		expr = "count(" + quoteIdent(n.alias) + ")"
	default:
		expr = g.columnExpr(n.alias, f.column, f.computed, f.json)
	}
	if f.cast != "" {
		expr = "CAST(" + expr + " AS " + f.cast + ")"
	}
	if f.aggregated() {
		expr = aggregateExpr(f.agg, expr)
	}
	if f.alias != "" {
		expr += " AS " + quoteIdent(f.alias)
	}
	return expr
}

// columnExpr is alias.column (or, for a computed field, the function applied to the row
// alias) followed by the JSON path; keys are bind arguments, array indexes are cast to int so
// -> picks the element rather than a key named "0".
func (g *gen) columnExpr(alias, column string, computed *meta.ComputedField, path []JSONStep) string {
	expr := quoteIdent(alias) + "." + quoteIdent(column)
	if computed != nil {
		expr = quoteQualified(computed.Function) + "(" + quoteIdent(alias) + ")"
	}
	for _, step := range path {
		op := "->"
		if step.Text {
			op = "->>"
		}
		if _, err := strconv.Atoi(step.Key); err == nil {
			expr += op + g.arg(step.Key) + "::int4"
		} else {
			expr += op + g.arg(step.Key) + "::text"
		}
	}
	return expr
}

// lateral renders the join that embeds child into parent: a to-one relationship yields the
// child row itself, a to-many one a json_agg of the child rows.
func (g *gen) lateral(parent, child *node) string {
	from := quoteQualified(child.table.QName) + " AS " + quoteIdent(child.alias)
	var conds []string
	if fn := child.rel.Function; fn != nil {
		// A computed relationship: the function of the parent row yields the child rows.
		from = quoteQualified(*fn) + "(" + quoteIdent(parent.alias) + "::" + quoteQualified(child.rel.Table) + ") AS " + quoteIdent(child.alias)
	} else if j := child.rel.Junction; j != nil {
		junction := quoteIdent("j" + strings.TrimPrefix(child.alias, "t"))
		from += ", " + quoteQualified(j.Table) + " AS " + junction
		for i, c := range j.TargetColumns {
			conds = append(conds, junction+"."+quoteIdent(c)+" = "+quoteIdent(child.alias)+"."+quoteIdent(j.TargetRefColumns[i]))
		}
		for i, c := range j.SourceColumns {
			conds = append(conds, junction+"."+quoteIdent(c)+" = "+quoteIdent(parent.alias)+"."+quoteIdent(j.SourceRefColumns[i]))
		}
	} else {
		for i, c := range child.rel.Columns {
			conds = append(conds, quoteIdent(child.alias)+"."+quoteIdent(child.rel.ForeignColumns[i])+" = "+quoteIdent(parent.alias)+"."+quoteIdent(c))
		}
	}
	sub := g.nodeParts(child, from, conds, true).sql()
	join := "LEFT JOIN LATERAL ("
	if child.inner {
		join = "INNER JOIN LATERAL ("
	}
	lat := quoteIdent(child.lateral)
	if child.rel.ToOne() {
		return join + sub + ") AS " + lat + " ON TRUE"
	}
	rows := quoteIdent("_" + child.lateral)
	on := "TRUE"
	if child.inner {
		on = lat + "." + child.rowsColumn() + " IS NOT NULL"
	}
	aggs := ""
	if child.spread {
		// A to-many spread (PostgREST 13) hands each of its columns to the parent as an array
		// of that column's values, in the subquery's order.
		for _, out := range spreadOutputs(child) {
			col := quoteIdent(out.name)
			aggs += ", coalesce(json_agg(" + rows + "." + col + "), '[]')::jsonb AS " + col
		}
	}
	return join + "SELECT json_agg(" + rows + ") AS " + child.rowsColumn() + aggs + " FROM (" + sub + ") AS " + rows + ") AS " + lat + " ON " + on
}

// rowsColumn names the column of a to-many embed's lateral join that holds its rows as a JSON
// array (NULL when none matched). A spread's lateral also has a column per spread column,
// which could be called "j", so its rows column takes the join's own (internal) name.
func (n *node) rowsColumn() string {
	if n.spread {
		return quoteIdent("_" + n.lateral)
	}
	return `"j"`
}

func (g *gen) orderTerm(n *node, o orderBy) string {
	var expr string
	if o.embed != nil {
		expr = g.columnExpr(o.embed.lateral, o.name, nil, o.json)
	} else {
		expr = g.columnExpr(n.alias, o.name, o.computed, o.json)
	}
	if o.desc {
		expr += " DESC"
	} else {
		expr += " ASC"
	}
	switch o.nulls {
	case "first":
		expr += " NULLS FIRST"
	case "last":
		expr += " NULLS LAST"
	}
	return expr
}

func buildSelect(q *Query, from string, opts BuildOptions) Statement {
	return buildSelectWith(&gen{}, q, from, opts, func(*gen) string { return from })
}

// buildSelectWith renders a read of q.root from `from`; explainFrom renders the same FROM
// again for the separate EXPLAIN statement, which has its own bind arguments.
func buildSelectWith(g *gen, q *Query, from string, opts BuildOptions, explainFrom func(*gen) string) Statement {
	p := g.nodeParts(q.root, from, nil, true)
	total := "NULL::int8"
	switch {
	case q.count == "exact" || (q.count == "estimated" && opts.MaxRows <= 0):
		total = "(SELECT count(*) FROM " + p.filtered() + ")"
	case q.count == "estimated":
		total = "(SELECT count(*) FROM (SELECT 1 FROM " + p.filtered() + " LIMIT " + strconv.FormatInt(opts.MaxRows+1, 10) + ") AS " + quoteIdent("_pgrst_c") + ")"
	}
	stmt := Statement{
		SQL: "SELECT " + total + " AS total, count(" + resultAlias + ")::int8 AS page, " + bodyExpr(q) +
			" AS body, NULL::text[] AS location, " + responseSettingsColumns + ", NULL::int8 AS inserted FROM (" + p.sql() + ") AS " + resultAlias,
		Args: g.args,
	}
	if q.count == "planned" || (q.count == "estimated" && opts.MaxRows > 0) {
		ge := &gen{}
		ep := ge.nodeParts(q.root, explainFrom(ge), nil, false)
		stmt.Explain = &Statement{SQL: "EXPLAIN (FORMAT JSON) SELECT 1 FROM " + ep.filtered(), Args: ge.args}
	}
	return stmt
}

// bodyExpr aggregates the result rows into the response body, as text.
func bodyExpr(q *Query) string {
	if q.head {
		return "''"
	}
	rows := "json_agg(" + resultAlias + ")"
	if q.kind == kindCall && q.root.table == nil && len(q.root.columns) == 0 && q.function.ReturnsScalar() {
		rows = stripNulls(q, "json_agg("+resultAlias+"."+quoteIdent(scalarColumn)+")")
		if !q.function.ReturnsSet || q.media == MediaObject {
			return "coalesce(" + rows + "->0, 'null')::text"
		}
		return "coalesce(" + rows + ", '[]')::text"
	}
	if q.media != MediaCSV {
		rows = stripNulls(q, rows)
	}
	switch {
	case q.media == MediaGeoJSON:
		// As PostgREST: PostGIS's ST_AsGeoJSON(record) turns each row into a Feature (the
		// first geometry column its geometry, the other columns its properties). It is found
		// through the request's search_path (extensions, where Supabase installs PostGIS);
		// without PostGIS the request fails with 42883.
		return "json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(ST_AsGeoJSON(" + resultAlias + ")::json), '[]'))::text"
	case q.media == MediaCSV:
		return "coalesce((SELECT string_agg(" + quoteIdent("_k") + ", ',') FROM json_object_keys(" + rows + "->0) AS " + quoteIdent("_k") + "), '')" +
			" || E'\\n' || coalesce(string_agg(substring(" + resultAlias + "::text, 2, length(" + resultAlias + "::text) - 2), E'\\n'), '')"
	case q.media == MediaObject || (q.kind == kindCall && !q.function.ReturnsSet):
		return "coalesce(" + rows + "->0, 'null')::text"
	default:
		return "coalesce(" + rows + ", '[]')::text"
	}
}

// stripNulls wraps a JSON expression in json_strip_nulls for nulls=stripped, as PostgREST
// does: null-valued keys go at every depth (embedded objects too), null array elements stay.
func stripNulls(q *Query, expr string) string {
	if !q.stripNulls {
		return expr
	}
	return "json_strip_nulls(" + expr + ")"
}
