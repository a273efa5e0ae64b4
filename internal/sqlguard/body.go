package sqlguard

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// A DO block runs at once and a function's body runs whenever it is called, so both are read
// here as if they were part of the request: a function that drops a table is a "drop" when it
// is created. PL/pgSQL is parsed with pg_query's PL/pgSQL parser; every SQL statement and
// expression in it is then classified like top-level SQL.

func (c checker) doBlock(v *verdict, do *pg_query.DoStmt, text string) {
	language, body := "plpgsql", ""
	for _, a := range do.GetArgs() {
		d := a.GetDefElem()
		switch d.GetDefname() {
		case "language":
			language = strings.ToLower(d.GetArg().GetString_().GetSval())
		case "as":
			body = d.GetArg().GetString_().GetSval()
		}
	}
	if language != "plpgsql" {
		v.add(ClassUncheckedLanguage, fmt.Sprintf("the DO block is written in %s, which cannot be checked here", language))
		return
	}
	v.absorb(c.plpgsql(text, body), "in the DO block")
}

func (c checker) function(v *verdict, fn *pg_query.CreateFunctionStmt, text string) {
	name := names(fn.GetFuncname())
	where := "in the body of " + name
	language, body := "", ""
	for _, o := range fn.GetOptions() {
		d := o.GetDefElem()
		switch d.GetDefname() {
		case "language":
			language = strings.ToLower(d.GetArg().GetString_().GetSval())
		case "as":
			if items := d.GetArg().GetList().GetItems(); len(items) > 0 {
				body = items[0].GetString_().GetSval()
			}
		case "security":
			if defTrue(d) {
				v.warn(name + " runs with its owner's privileges (SECURITY DEFINER)")
			}
		}
	}
	switch {
	case fn.GetSqlBody() != nil:
		// BEGIN ATOMIC ... END and RETURN are parsed with the statement: the walk sees them.
	case language == "sql":
		v.absorb(c.sqlText(body), where)
	case language == "plpgsql":
		v.absorb(c.plpgsql(text, body), where)
	default:
		v.add(ClassUncheckedLanguage, fmt.Sprintf("%s is written in %s, whose body cannot be checked here", name, language))
	}
}

// sqlText classifies SQL found inside other code (a function body, a PL/pgSQL statement) and
// returns what all its statements do together.
func (c checker) sqlText(sql string) verdict {
	var v verdict
	if c.depth+1 > maxDepth {
		v.add(ClassUncheckedCode, "the code nests too deep to be checked")
		return v
	}
	if checkInput(sql) != nil {
		v.add(ClassUncheckedCode, "the code holds bytes PostgreSQL would not accept")
		return v
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		inner := newChecker(c.depth + 1)
		inner.tokens(&v, sql)
		return v
	}
	inner := newChecker(c.depth + 1)
	for _, raw := range tree.GetStmts() {
		text, _ := statementText(sql, raw)
		s := inner.statement(raw.GetStmt(), text)
		v.absorb(s, "")
	}
	return v
}

// plpgsql reads a PL/pgSQL body. text is the whole CREATE FUNCTION or DO statement, which is
// what the PL/pgSQL parser takes; body is the code alone, for when that parser gives up.
func (c checker) plpgsql(text, body string) verdict {
	var v verdict
	if c.depth+1 > maxDepth {
		v.add(ClassUncheckedCode, "the code nests too deep to be checked")
		return v
	}
	var out string
	err := errPlpgsqlUnsafe
	if plpgsqlSafe(text) {
		out, err = pg_query.ParsePlPgSqlToJSON(text)
	}
	var tree any
	if err == nil {
		err = json.Unmarshal([]byte(out), &tree)
	}
	if err != nil {
		// pg_query's PL/pgSQL parser has no catalog, so it refuses some valid code (a field
		// of a %ROWTYPE variable, for one); read such a body statement by statement instead.
		newChecker(c.depth+1).tokens(&v, body)
		return v
	}
	c.plpgsqlNode(&v, tree)
	return v
}

var errPlpgsqlUnsafe = errors.New("not given to the PL/pgSQL parser")

// plpgsqlSafe says whether text may be given to pg_query's PL/pgSQL parser, which aborts the
// whole process (a C assert) on a CREATE FUNCTION without an AS body, such as one written
// with BEGIN ATOMIC, or no body at all: every function it would compile must have one.
func plpgsqlSafe(text string) bool {
	tree, err := pg_query.Parse(text)
	if err != nil {
		return false
	}
	for _, raw := range tree.GetStmts() {
		switch {
		case raw.GetStmt().GetCreateFunctionStmt() != nil:
			if !hasOption(raw.GetStmt().GetCreateFunctionStmt().GetOptions(), "as") {
				return false
			}
		case raw.GetStmt().GetDoStmt() != nil:
			if !hasOption(raw.GetStmt().GetDoStmt().GetArgs(), "as") {
				return false
			}
		}
	}
	return true
}

func hasOption(options []*pg_query.Node, name string) bool {
	for _, o := range options {
		if o.GetDefElem().GetDefname() == name {
			return true
		}
	}
	return false
}

// plpgsqlNode walks the PL/pgSQL parser's JSON: every PLpgSQL_expr holds SQL (a statement, an
// expression, or an assignment, as its parseMode says), and the dynamic statements hold an
// expression computing SQL.
func (c checker) plpgsqlNode(v *verdict, node any) {
	switch n := node.(type) {
	case []any:
		for _, item := range n {
			c.plpgsqlNode(v, item)
		}
	case map[string]any:
		// In key order, so that warnings come out the same way every time.
		for _, key := range slices.Sorted(maps.Keys(n)) {
			value := n[key]
			switch key {
			case "PLpgSQL_expr":
				if expr, ok := value.(map[string]any); ok {
					c.plpgsqlExpr(v, expr)
				}
				continue
			case "PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors":
				c.dynamic(v, value, "query")
			case "PLpgSQL_stmt_open", "PLpgSQL_stmt_return_query":
				c.dynamic(v, value, "dynquery")
			}
			c.plpgsqlNode(v, value)
		}
	}
}

// PL/pgSQL's parse modes (PostgreSQL's RawParseMode).
const (
	parseDefault = 0 // a whole statement
	parseExpr    = 2 // an expression: parsed as SELECT expr
	parseAssign1 = 3 // var := expr
	parseAssign3 = 5
)

func (c checker) plpgsqlExpr(v *verdict, expr map[string]any) {
	query, _ := expr["query"].(string)
	mode, _ := expr["parseMode"].(float64)
	switch {
	case query == "":
	case int(mode) == parseDefault:
		v.absorb(c.sqlText(query), "")
	case int(mode) == parseExpr:
		v.absorb(c.sqlText("SELECT "+query), "")
	case int(mode) >= parseAssign1 && int(mode) <= parseAssign3:
		v.absorb(c.sqlText("SELECT "+assignedValue(query)), "")
	}
}

// assignedValue is the expression of "target := expr" (or "target = expr").
func assignedValue(assignment string) string {
	result, err := pg_query.Scan(assignment)
	if err != nil {
		return assignment
	}
	for _, t := range result.GetTokens() {
		if t.GetToken() == pg_query.Token_COLON_EQUALS || t.GetToken() == pg_query.Token_ASCII_61 {
			return assignment[t.GetEnd():]
		}
	}
	return assignment
}

// dynamic checks EXECUTE and friends: SQL given as a constant is checked like any other, SQL
// computed at run time is dynamic_sql.
func (c checker) dynamic(v *verdict, stmt any, field string) {
	m, _ := stmt.(map[string]any)
	holder, _ := m[field].(map[string]any)
	expr, _ := holder["PLpgSQL_expr"].(map[string]any)
	if expr == nil {
		return
	}
	query, _ := expr["query"].(string)
	if sql, ok := constantString(query); ok {
		v.absorb(c.sqlText(sql), "")
		return
	}
	v.add(ClassDynamicSQL, "EXECUTE runs SQL built at run time, which cannot be checked here")
}

// constantString is the value of expr when it is one string constant.
func constantString(expr string) (string, bool) {
	tree, err := pg_query.Parse("SELECT " + expr)
	if err != nil || len(tree.GetStmts()) != 1 {
		return "", false
	}
	sel := tree.GetStmts()[0].GetStmt().GetSelectStmt()
	if sel == nil || len(sel.GetTargetList()) != 1 || len(sel.GetFromClause()) > 0 {
		return "", false
	}
	return stringArg(sel.GetTargetList()[0].GetResTarget().GetVal())
}
