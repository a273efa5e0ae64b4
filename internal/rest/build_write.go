package rest

import (
	"strings"
)

// buildWrite renders INSERT (POST, PUT), UPDATE (PATCH) and DELETE as a data-modifying CTE
// whose returned rows feed the same body aggregation as reads.
func buildWrite(q *Query) Statement {
	g := &gen{}
	mutation := g.mutation(q)
	inner := "SELECT 1 FROM " + sourceCTE
	body := "''"
	if q.returning == "representation" {
		inner = g.nodeParts(q.root, sourceCTE+" AS "+quoteIdent(q.root.alias), nil, true).sql()
		body = bodyExpr(q)
	}
	location := "NULL::text[]"
	if q.kind == kindInsert && q.returning == "headers-only" && len(q.table.PrimaryKey) > 0 {
		keys := make([]string, len(q.table.PrimaryKey))
		for i, k := range q.table.PrimaryKey {
			keys[i] = quoteIdent(k) + "::text"
		}
		location = "(SELECT ARRAY[" + strings.Join(keys, ", ") + "] FROM " + sourceCTE + " LIMIT 1)"
	}
	inserted := "NULL::int8"
	if q.countsInserts() {
		inserted = "nullif(current_setting(" + insertedSetting + ", true), '')::int8"
	}
	return Statement{
		SQL: "WITH " + sourceCTE + " AS (" + mutation + ") SELECT NULL::int8 AS total, count(" + resultAlias + ")::int8 AS page, " +
			body + " AS body, " + location + " AS location, " + responseSettingsColumns + ", " + inserted + " AS inserted FROM (" + inner + ") AS " + resultAlias,
		Args: g.args,
	}
}

// insertedSetting counts the rows an upsert inserted: every row offered to INSERT adds one and
// every conflicting row that is updated instead takes one away, so the status can tell an
// upsert that created rows (201) from one that only updated them (200), as PostgREST does.
// The set_config calls sit in conditions that are always true; the setting is local to the
// request's transaction.
const insertedSetting = "'goforward.inserted'"

// countInserted renders the always-true condition that moves the inserted count by delta.
func countInserted(delta string) string {
	return "set_config(" + insertedSetting + ", (coalesce(nullif(current_setting(" + insertedSetting + ", true), '')::int, 0) " +
		delta + ")::text, true) IS NOT NULL"
}

// countsInserts reports whether q is an upsert whose status depends on what it inserted: PUT,
// and POST with resolution=merge-duplicates.
func (q *Query) countsInserts() bool {
	return q.kind == kindPut || (q.kind == kindInsert && q.resolution == "merge-duplicates")
}

// returning says what the mutation hands to the response: whole rows for a representation,
// the primary key for a Location header, else a constant (so no SELECT privilege or policy
// is needed, as with PostgREST's return=minimal).
func returning(q *Query) string {
	switch {
	case q.returning == "representation":
		return ` RETURNING "t0".*`
	case q.returning == "headers-only" && len(q.table.PrimaryKey) > 0:
		keys := make([]string, len(q.table.PrimaryKey))
		for i, k := range q.table.PrimaryKey {
			keys[i] = `"t0".` + quoteIdent(k)
		}
		return " RETURNING " + strings.Join(keys, ", ")
	default:
		return " RETURNING 1"
	}
}

func (g *gen) mutation(q *Query) string {
	table := quoteQualified(q.table.QName)
	switch q.kind {
	case kindUpdate:
		if len(q.columns) == 0 {
			return "SELECT " + strings.TrimPrefix(returning(q), " RETURNING ") + " FROM " + table + ` AS "t0" WHERE FALSE`
		}
		sets := make([]string, len(q.columns))
		for i, c := range q.columns {
			sets[i] = quoteIdent(c) + ` = "_b".` + quoteIdent(c)
		}
		return "UPDATE " + table + ` AS "t0" SET ` + strings.Join(sets, ", ") +
			" FROM (SELECT * FROM json_populate_recordset(NULL::" + table + ", " + g.arg(string(q.body)) + `::json) LIMIT 1) AS "_b"` +
			g.where(q.target) + returning(q)
	case kindDelete:
		return "DELETE FROM " + table + ` AS "t0"` + g.where(q.target) + returning(q)
	}
	// INSERT for POST and PUT.
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + ` AS "t0"`)
	if len(q.columns) == 0 {
		b.WriteString(" SELECT FROM json_array_elements(" + g.arg(string(q.body)) + "::json)")
	} else {
		cols := make([]string, len(q.columns))
		picked := make([]string, len(q.columns))
		for i, c := range q.columns {
			cols[i] = quoteIdent(c)
			picked[i] = `"_b".` + quoteIdent(c)
		}
		b.WriteString(" (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(picked, ", ") + " FROM " + g.recordset(q) + ` AS "_b"`)
		if q.countsInserts() {
			b.WriteString(" WHERE " + countInserted("+ 1"))
		}
	}
	if q.resolution != "" {
		b.WriteString(" ON CONFLICT")
		if len(q.onConflict) > 0 {
			cols := make([]string, len(q.onConflict))
			for i, c := range q.onConflict {
				cols[i] = quoteIdent(c)
			}
			b.WriteString(" (" + strings.Join(cols, ", ") + ")")
		}
		if q.resolution == "ignore-duplicates" || len(q.columns) == 0 {
			b.WriteString(" DO NOTHING")
		} else {
			sets := make([]string, len(q.columns))
			for i, c := range q.columns {
				sets[i] = quoteIdent(c) + " = EXCLUDED." + quoteIdent(c)
			}
			b.WriteString(" DO UPDATE SET " + strings.Join(sets, ", "))
			if q.countsInserts() {
				b.WriteString(" WHERE " + countInserted("- 1"))
			}
		}
	}
	b.WriteString(returning(q))
	return b.String()
}

// recordset reads the body's objects as rows of the table's type. With missing=default, the
// columns a row leaves out get their default expression (from the catalog) instead of NULL.
func (g *gen) recordset(q *Query) string {
	table := quoteQualified(q.table.QName)
	body := g.arg(string(q.body))
	if q.missing {
		var defaults []string
		for _, c := range q.columns {
			if col := q.table.Column(c); col != nil && col.HasDefault {
				defaults = append(defaults, g.arg(c)+"::text, "+col.Default)
			}
		}
		if len(defaults) > 0 {
			elem := quoteIdent("_e")
			return "jsonb_populate_recordset(NULL::" + table + ", (SELECT jsonb_agg(jsonb_build_object(" + strings.Join(defaults, ", ") +
				") || " + elem + ") FROM jsonb_array_elements(" + body + "::jsonb) AS " + elem + "))"
		}
	}
	return "json_populate_recordset(NULL::" + table + ", " + body + "::json)"
}

func (g *gen) where(n *node) string {
	if n == nil || len(n.where) == 0 {
		return ""
	}
	conds := make([]string, len(n.where))
	for i, c := range n.where {
		conds[i] = g.cond(n, c)
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// callFrom renders the function call as a FROM item aliased like a table, so filters, order
// and embeds apply to its rows. Arguments are read from one JSON object by json_to_record,
// typed by the function's own parameter types, and passed by name.
func (g *gen) callFrom(q *Query) string {
	fn := q.function
	name := quoteQualified(fn.QName)
	alias := quoteIdent(q.root.alias)
	scalar := q.root.table == nil && len(q.root.columns) == 0 && fn.ReturnsScalar()
	if scalar {
		alias += "(" + quoteIdent(scalarColumn) + ")"
	}
	switch {
	case q.singleBody:
		return name + "(" + g.arg(string(q.argsJSON)) + "::" + fn.Params[0].Type + ") AS " + alias
	case len(q.args) == 0:
		return name + "() AS " + alias
	}
	defs := make([]string, len(q.args))
	named := make([]string, len(q.args))
	for i, p := range q.args {
		defs[i] = quoteIdent(p.Name) + " " + p.Type
		named[i] = quoteIdent(p.Name) + ` := "_args".` + quoteIdent(p.Name)
		if p.Variadic {
			named[i] = "VARIADIC " + named[i]
		}
	}
	return "json_to_record(" + g.arg(string(q.argsJSON)) + `::json) AS "_args"(` + strings.Join(defs, ", ") + ") CROSS JOIN LATERAL " +
		name + "(" + strings.Join(named, ", ") + ") AS " + alias
}
