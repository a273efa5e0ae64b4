package rest

import (
	"strings"
)

// comparison maps the simple operators to SQL.
func comparison(op string) string {
	switch op {
	case "eq":
		return "="
	case "neq":
		return "<>"
	case "gt":
		return ">"
	case "gte":
		return ">="
	case "lt":
		return "<"
	case "lte":
		return "<="
	case "like":
		return "LIKE"
	case "ilike":
		return "ILIKE"
	case "match":
		return "~"
	case "imatch":
		return "~*"
	case "isdistinct":
		return "IS DISTINCT FROM"
	case "cs":
		return "@>"
	case "cd":
		return "<@"
	case "ov":
		return "&&"
	case "sl":
		return "<<"
	case "sr":
		return ">>"
	case "nxr":
		// "does not extend to the right of": PostgREST's nxr is &<, nxl is &>.
		return "&<"
	case "nxl":
		return "&>"
	case "adj":
		return "-|-"
	}
	return ""
}

func textSearchFunction(op string) string {
	switch op {
	case "plfts":
		return "plainto_tsquery"
	case "phfts":
		return "phraseto_tsquery"
	case "wfts":
		return "websearch_to_tsquery"
	}
	return "to_tsquery"
}

// cond renders one condition of n. Operands are bind arguments sent as text, so PostgreSQL
// reads them with the column's own input function, as it reads PostgREST's untyped literals.
func (g *gen) cond(n *node, c cond) string {
	var s string
	switch {
	case c.logic != "":
		sep, empty := " AND ", "TRUE"
		if c.logic == "or" {
			sep, empty = " OR ", "FALSE"
		}
		parts := make([]string, len(c.children))
		for i, child := range c.children {
			parts[i] = g.cond(n, child)
		}
		s = empty
		if len(parts) > 0 {
			s = "(" + strings.Join(parts, sep) + ")"
		}
	case c.embed != nil:
		present := quoteIdent(c.embed.lateral) + "." + c.embed.rowsColumn()
		if c.embed.rel.ToOne() {
			present = "row_to_json(" + quoteIdent(c.embed.lateral) + ".*)"
		}
		if c.value == "null" {
			s = present + " IS NULL"
		} else {
			s = present + " IS NOT NULL"
		}
	default:
		s = g.filter(n, c)
	}
	if c.negate {
		return "NOT (" + s + ")"
	}
	return s
}

func (g *gen) filter(n *node, c cond) string {
	lhs := g.columnExpr(n.alias, c.name, c.computed, c.json)
	switch {
	case c.op == "is":
		switch c.value {
		case "null":
			return lhs + " IS NULL"
		case "not_null":
			return lhs + " IS NOT NULL"
		case "true":
			return lhs + " IS TRUE"
		case "false":
			return lhs + " IS FALSE"
		default:
			return lhs + " IS UNKNOWN"
		}
	case c.op == "in":
		return lhs + " = ANY(" + g.arg(arrayLiteral(c.values)) + ")"
	case isTextSearch(c.op):
		fn := textSearchFunction(c.op)
		value := g.arg(c.value) + "::text"
		tsquery := fn + "(" + value + ")"
		document := lhs
		isVector := len(c.json) == 0 && ((c.column != nil && c.column.BaseType == "tsvector") ||
			(c.computed != nil && c.computed.BaseType == "tsvector"))
		if c.lang != "" {
			lang := g.arg(c.lang) + "::regconfig"
			tsquery = fn + "(" + lang + ", " + value + ")"
			if !isVector {
				document = "to_tsvector(" + lang + ", " + lhs + ")"
			}
		} else if !isVector {
			document = "to_tsvector(" + lhs + ")"
		}
		return document + " @@ " + tsquery
	}
	value := c.value
	if c.op == "like" || c.op == "ilike" {
		value = strings.ReplaceAll(value, "*", "%")
	}
	op := comparison(c.op)
	if c.quant != "" {
		return lhs + " " + op + " " + strings.ToUpper(c.quant) + "(" + g.arg(value) + ")"
	}
	return lhs + " " + op + " " + g.arg(value)
}

// arrayLiteral writes in's list as a PostgreSQL array literal with every element quoted, so
// commas, braces and quotes inside values stay values.
func arrayLiteral(values []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range strings.ReplaceAll(v, "\x00", "") {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
