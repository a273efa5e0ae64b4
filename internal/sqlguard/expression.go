package sqlguard

import (
	"context"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Expression is one SQL value expression read on its own, such as a row filter that will
// become a policy's condition.
type Expression struct {
	// SQL is the expression as PostgreSQL's deparser writes it back from the parse tree, so
	// what is run is exactly what was checked: text that would close the expression early
	// ("true) WITH CHECK (true") cannot survive the round trip.
	SQL string
	// Relations are the tables and views it reads (in subqueries), as written: Schema is ""
	// for an unqualified name, which the server resolves on its search path.
	Relations []Relation
	// Statement is the classification of SELECT <expression>: Kind is KindRead unless it
	// writes (a writing CTE, a volatile function when the Analyzer has a Catalog, a row lock),
	// and Classes holds whatever dangerous thing it does (a function reading server files, ...).
	Statement Statement
}

// Relation is a table or view named in SQL.
type Relation struct {
	Schema string
	Name   string
}

// Expression reads expr as the single output of a SELECT without FROM, WHERE or anything
// else, so it is one value expression and nothing more, and classifies it like a statement.
// A *ParseError says it does not parse or is not a lone expression.
func (a *Analyzer) Expression(ctx context.Context, expr string) (*Expression, error) {
	if err := checkInput(expr); err != nil {
		return nil, err
	}
	if strings.TrimSpace(expr) == "" {
		return nil, &ParseError{Message: "the expression is empty"}
	}
	tree, err := pg_query.Parse("SELECT " + expr)
	if err != nil {
		return nil, parseError(err)
	}
	stmts := tree.GetStmts()
	if len(stmts) != 1 {
		return nil, &ParseError{Message: "an expression must not contain ;"}
	}
	sel := stmts[0].GetStmt().GetSelectStmt()
	if sel == nil || !loneTarget(sel) {
		return nil, &ParseError{Message: "not a single value expression (no FROM, WHERE, column list or other clause around it)"}
	}
	target := sel.GetTargetList()[0].GetResTarget()
	if target == nil || target.GetName() != "" || target.GetVal() == nil {
		return nil, &ParseError{Message: "not a single value expression"}
	}
	deparsed, err := pg_query.Deparse(tree)
	if err != nil {
		return nil, parseError(err)
	}
	text, ok := strings.CutPrefix(deparsed, "SELECT ")
	if !ok {
		return nil, &ParseError{Message: "the expression cannot be written back"}
	}
	out := &Expression{SQL: text}
	collectRelations(target.GetVal().ProtoReflect(), &out.Relations)
	statements, err := a.Analyze(ctx, "SELECT "+text)
	if err != nil {
		return nil, err
	}
	if len(statements) != 1 {
		return nil, &ParseError{Message: "not a single value expression"}
	}
	out.Statement = statements[0]
	return out, nil
}

// loneTarget reports whether sel is SELECT <one expression> and nothing else.
func loneTarget(sel *pg_query.SelectStmt) bool {
	return len(sel.GetTargetList()) == 1 && len(sel.GetFromClause()) == 0 && sel.GetWhereClause() == nil &&
		len(sel.GetGroupClause()) == 0 && sel.GetHavingClause() == nil && len(sel.GetWindowClause()) == 0 &&
		len(sel.GetSortClause()) == 0 && sel.GetLimitCount() == nil && sel.GetLimitOffset() == nil &&
		len(sel.GetDistinctClause()) == 0 && sel.GetIntoClause() == nil && sel.GetWithClause() == nil &&
		len(sel.GetLockingClause()) == 0 && len(sel.GetValuesLists()) == 0 &&
		sel.GetOp() == pg_query.SetOperation_SETOP_NONE
}

func collectRelations(m protoreflect.Message, out *[]Relation) {
	if rv, ok := m.Interface().(*pg_query.RangeVar); ok {
		*out = append(*out, Relation{Schema: rv.GetSchemaname(), Name: rv.GetRelname()})
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			list := v.List()
			for i := range list.Len() {
				collectRelations(list.Get(i).Message(), out)
			}
			return true
		}
		collectRelations(v.Message(), out)
		return true
	})
}
