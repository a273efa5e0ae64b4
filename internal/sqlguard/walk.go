package sqlguard

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// facts are what a statement's whole tree holds, wherever it sits: a DELETE inside a CTE, a
// function call inside a default, a FOR UPDATE inside a subquery. Walking every node rather
// than the clauses one expects is what keeps a new kind of nesting from hiding anything.
type facts struct {
	dml     bool       // INSERT, UPDATE, DELETE or MERGE somewhere
	locking bool       // FOR UPDATE / FOR SHARE somewhere
	deletes []rowsHit  // DELETEs without a real WHERE
	updates []rowsHit  // UPDATEs without a real WHERE
	calls   []funcCall // every function call
	refs    []string   // functions named without being called: operators, casts, GRANT EXECUTE, ALTER FUNCTION
}

// rowsHit is a DELETE or UPDATE that reaches every row of table.
type rowsHit struct {
	table      string
	alwaysTrue bool // it has a WHERE, but one that is always true
}

// funcCall is one call: schema is "" when the name is not qualified.
type funcCall struct {
	schema string
	name   string
	args   []*pg_query.Node
}

func (f funcCall) String() string {
	if f.schema != "" {
		return f.schema + "." + f.name + "()"
	}
	return f.name + "()"
}

func scan(node *pg_query.Node) facts {
	var f facts
	if node != nil {
		f.walk(node.ProtoReflect())
	}
	return f
}

func (f *facts) walk(m protoreflect.Message) {
	switch n := m.Interface().(type) {
	case *pg_query.DeleteStmt:
		f.dml = true
		if hit, ok := everyRow(n.GetRelation(), n.GetWhereClause()); ok {
			f.deletes = append(f.deletes, hit)
		}
	case *pg_query.UpdateStmt:
		f.dml = true
		if hit, ok := everyRow(n.GetRelation(), n.GetWhereClause()); ok {
			f.updates = append(f.updates, hit)
		}
	case *pg_query.InsertStmt, *pg_query.MergeStmt:
		f.dml = true
	case *pg_query.LockingClause:
		f.locking = true
	case *pg_query.FuncCall:
		if call, ok := callOf(n); ok {
			f.calls = append(f.calls, call)
		}
	case *pg_query.ObjectWithArgs:
		f.ref(n.GetObjname())
	case *pg_query.DefElem:
		// CREATE OPERATOR (FUNCTION = f), CREATE AGGREGATE (SFUNC = f), ...: a function bound
		// to an operator or an aggregate is called without its name in the SQL that uses it.
		if functionOptions[n.GetDefname()] {
			if tn := n.GetArg().GetTypeName(); tn != nil {
				f.ref(tn.GetNames())
			} else {
				f.ref(n.GetArg().GetList().GetItems())
			}
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			list := v.List()
			for i := range list.Len() {
				f.walk(list.Get(i).Message())
			}
			return true
		}
		f.walk(v.Message())
		return true
	})
}

var functionOptions = map[string]bool{
	"function": true, "procedure": true, "sfunc": true, "finalfunc": true, "combinefunc": true,
	"serialfunc": true, "deserialfunc": true, "msfunc": true, "minvfunc": true, "mfinalfunc": true,
	"handler": true, "validator": true, "inline": true,
}

func (f *facts) ref(name []*pg_query.Node) {
	if len(name) > 0 {
		f.refs = append(f.refs, name[len(name)-1].GetString_().GetSval())
	}
}

func callOf(n *pg_query.FuncCall) (funcCall, bool) {
	var parts []string
	for _, p := range n.GetFuncname() {
		parts = append(parts, p.GetString_().GetSval())
	}
	if len(parts) == 0 {
		return funcCall{}, false
	}
	call := funcCall{name: parts[len(parts)-1], args: n.GetArgs()}
	if len(parts) > 1 {
		call.schema = parts[len(parts)-2]
	}
	return call, true
}

// everyRow says whether a DELETE or UPDATE of rel with where reaches every row.
func everyRow(rel *pg_query.RangeVar, where *pg_query.Node) (rowsHit, bool) {
	hit := rowsHit{table: relationName(rel)}
	if where == nil {
		return hit, true
	}
	if alwaysTrue(where) {
		hit.alwaysTrue = true
		return hit, true
	}
	return hit, false
}

// alwaysTrue recognises the WHERE clauses written to get past a "no WHERE" check: TRUE,
// 1 = 1, 'a' = 'a', and OR/AND built from them. It is not a prover: x = x or x IS NOT NULL
// pass, which is why the missing WHERE is a warning to confirm, not a proof of safety.
func alwaysTrue(n *pg_query.Node) bool {
	switch {
	case n.GetAConst() != nil:
		return n.GetAConst().GetBoolval().GetBoolval()
	case n.GetAExpr() != nil:
		e := n.GetAExpr()
		if e.GetKind() != pg_query.A_Expr_Kind_AEXPR_OP || len(e.GetName()) != 1 || e.GetName()[0].GetString_().GetSval() != "=" {
			return false
		}
		l, r := e.GetLexpr().GetAConst(), e.GetRexpr().GetAConst()
		return l != nil && r != nil && !l.GetIsnull() && !r.GetIsnull() && constText(l) == constText(r)
	case n.GetBoolExpr() != nil:
		b := n.GetBoolExpr()
		switch b.GetBoolop() {
		case pg_query.BoolExprType_OR_EXPR:
			for _, a := range b.GetArgs() {
				if alwaysTrue(a) {
					return true
				}
			}
		case pg_query.BoolExprType_AND_EXPR:
			for _, a := range b.GetArgs() {
				if !alwaysTrue(a) {
					return false
				}
			}
			return len(b.GetArgs()) > 0
		}
	}
	return false
}

// constText is a constant's value as text with its type, so 1 and '1' differ.
func constText(c *pg_query.A_Const) string {
	switch {
	case c.GetIval() != nil:
		return "i:" + strconv.Itoa(int(c.GetIval().GetIval()))
	case c.GetFval() != nil:
		return "f:" + c.GetFval().GetFval()
	case c.GetSval() != nil:
		return "s:" + c.GetSval().GetSval()
	case c.GetBoolval() != nil:
		if c.GetBoolval().GetBoolval() {
			return "b:t"
		}
		return "b:f"
	case c.GetBsval() != nil:
		return "x:" + c.GetBsval().GetBsval()
	}
	// An Integer of 0 has no Ival message at all in the protobuf encoding.
	return "i:0"
}

func relationName(rel *pg_query.RangeVar) string {
	if rel == nil {
		return ""
	}
	if rel.GetSchemaname() != "" {
		return rel.GetSchemaname() + "." + rel.GetRelname()
	}
	return rel.GetRelname()
}

// names joins the String nodes of a qualified name (e.g. a DROP TABLE object) with dots; it
// returns "" for any other shape.
func names(list []*pg_query.Node) string {
	var parts []string
	for _, n := range list {
		s := n.GetString_()
		if s == nil {
			return ""
		}
		parts = append(parts, s.GetSval())
	}
	return strings.Join(parts, ".")
}

// stringArg is a constant text argument's value.
func stringArg(n *pg_query.Node) (string, bool) {
	if n == nil {
		return "", false
	}
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.GetArg()
	}
	c := n.GetAConst()
	if c == nil || c.GetSval() == nil {
		return "", false
	}
	return c.GetSval().GetSval(), true
}
