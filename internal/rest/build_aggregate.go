package rest

import (
	"strconv"
	"strings"
)

// aggregateExpr applies a to expr and casts the result.
func aggregateExpr(a *aggregate, expr string) string {
	expr = a.fn + "(" + expr + ")"
	if a.cast != "" {
		expr = "CAST(" + expr + " AS " + a.cast + ")"
	}
	return expr
}

// groupedSelect renders the select list of a node that aggregates, and its GROUP BY: every
// output column that is not an aggregate, by position, as PostgREST groups by the other
// selected fields (embeds included). So that positions are known, * lists the columns and a
// spread lists its subquery's columns, and embedded JSON is jsonb, which has equality.
func (g *gen) groupedSelect(n *node) (selectList, groupBy string) {
	var items, groups []string
	add := func(sql string, aggregated bool) {
		items = append(items, sql)
		if !aggregated {
			groups = append(groups, strconv.Itoa(len(items)))
		}
	}
	for _, f := range n.fields {
		switch child := f.embed; {
		case f.star:
			for _, c := range n.columnNames() {
				add(quoteIdent(n.alias)+"."+quoteIdent(c), false)
			}
		case child != nil && len(child.fields) == 0:
		case child != nil && child.spread:
			for _, out := range spreadOutputs(child) {
				expr := quoteIdent(child.lateral) + "." + quoteIdent(out.name)
				switch {
				case out.agg != nil:
					expr = aggregateExpr(out.agg, expr)
				case out.json:
					expr += "::jsonb"
				}
				add(expr+" AS "+quoteIdent(out.name), out.agg != nil)
			}
		case child != nil && child.rel.ToOne():
			add("row_to_json("+quoteIdent(child.lateral)+".*)::jsonb AS "+quoteIdent(child.name), false)
		case child != nil:
			add("coalesce("+quoteIdent(child.lateral)+`."j"::jsonb, '[]') AS `+quoteIdent(child.name), false)
		default:
			add(g.field(n, f), f.aggregated())
		}
	}
	selectList = strings.Join(items, ", ")
	if len(groups) > 0 {
		groupBy = " GROUP BY " + strings.Join(groups, ", ")
	}
	return selectList, groupBy
}

// spreadOutput is a column a spread's subquery hands to its parent.
type spreadOutput struct {
	name string
	json bool       // an embed's JSON, grouped as jsonb
	agg  *aggregate // a hoisted aggregate the parent applies
}

// spreadOutputs lists, in order, the columns a spread's subquery returns.
func spreadOutputs(n *node) []spreadOutput {
	var out []spreadOutput
	for _, f := range n.fields {
		switch child := f.embed; {
		case f.star:
			for _, c := range n.columnNames() {
				out = append(out, spreadOutput{name: c})
			}
		case child != nil && len(child.fields) == 0:
		case child != nil && child.spread:
			out = append(out, spreadOutputs(child)...)
		case child != nil:
			out = append(out, spreadOutput{name: child.name, json: true})
		default:
			o := spreadOutput{name: f.alias}
			if o.name == "" {
				o.name = f.column
			}
			if f.hoisted() {
				o.agg = f.agg
			}
			out = append(out, o)
		}
	}
	return out
}
