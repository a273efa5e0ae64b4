package sqlguard

import (
	"fmt"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// verdict is what one statement (with everything nested in it) does.
type verdict struct {
	kind     Kind
	classes  []Class
	warnings []string
	calls    []funcCall // for the volatility check of a read
}

func (v *verdict) add(c Class, warning string) {
	if !slices.Contains(v.classes, c) {
		v.classes = append(v.classes, c)
	}
	v.warn(warning)
}

func (v *verdict) warn(w string) {
	if w != "" && !slices.Contains(v.warnings, w) {
		v.warnings = append(v.warnings, w)
	}
}

// absorb takes the classes and warnings of code nested in this statement (a function body, a
// DO block), naming where they come from unless where is "".
func (v *verdict) absorb(inner verdict, where string) {
	for _, c := range inner.classes {
		if !slices.Contains(v.classes, c) {
			v.classes = append(v.classes, c)
		}
	}
	for _, w := range inner.warnings {
		if where != "" {
			w = where + ": " + w
		}
		v.warn(w)
	}
}

func (v *verdict) sortedClasses() []Class {
	out := slices.Clone(v.classes)
	slices.Sort(out)
	if out == nil {
		out = []Class{}
	}
	return out
}

func (v *verdict) warningList() []string {
	if v.warnings == nil {
		return []string{}
	}
	return v.warnings
}

// maxDepth bounds how deep bodies inside bodies are read (a DO block creating a function
// whose body runs another DO block ...); deeper code is unchecked_code.
const maxDepth = 4

// checker classifies statements found at one nesting depth.
type checker struct{ depth int }

func newChecker(depth int) checker { return checker{depth: depth} }

// statement classifies one parsed statement; text is its SQL, which the PL/pgSQL parser
// needs for DO blocks and functions.
func (c checker) statement(node *pg_query.Node, text string) verdict {
	if ex := node.GetExplainStmt(); ex != nil {
		return c.explain(ex, text)
	}
	v := c.specific(node, text)
	f := scan(node)
	if v.kind == KindRead && (f.dml || f.locking) {
		v.kind = KindWrite
		if f.locking && !f.dml {
			v.warn("FOR UPDATE/FOR SHARE locks the rows it reads: counted as a write")
		}
	}
	for _, hit := range f.deletes {
		v.add(ClassDeleteWithoutWhere, everyRowWarning("DELETE", "removes", hit))
	}
	for _, hit := range f.updates {
		v.add(ClassUpdateWithoutWhere, everyRowWarning("UPDATE", "changes", hit))
	}
	for _, call := range f.calls {
		c.call(&v, call)
	}
	for _, name := range f.refs {
		if class, ok := dangerousFunction(name); ok {
			v.add(class, fmt.Sprintf("refers to %s(), which %s", name, functionDanger[class]))
		}
	}
	v.calls = f.calls
	return v
}

func everyRowWarning(verb, does string, hit rowsHit) string {
	table := "the table"
	if hit.table != "" {
		table = hit.table
	}
	if hit.alwaysTrue {
		return fmt.Sprintf("%s whose WHERE clause is always true %s every row of %s", verb, does, table)
	}
	return fmt.Sprintf("%s without a WHERE clause %s every row of %s", verb, does, table)
}

// explain is the explained statement's kind; only with ANALYZE does it run, and only then
// are its dangers the EXPLAIN's. Function volatility is not looked up: nothing is called.
func (c checker) explain(ex *pg_query.ExplainStmt, text string) verdict {
	inner := c.statement(ex.GetQuery(), text)
	if !explainAnalyze(ex) {
		return verdict{kind: inner.kind}
	}
	if inner.kind != KindRead {
		inner.warn("EXPLAIN ANALYZE runs the statement it explains")
	}
	return inner
}

func explainAnalyze(ex *pg_query.ExplainStmt) bool {
	for _, o := range ex.GetOptions() {
		d := o.GetDefElem()
		if d == nil || d.GetDefname() != "analyze" {
			continue
		}
		return defTrue(d)
	}
	return false
}

// defTrue reads a boolean option (ANALYZE, SUPERUSER, SECURITY DEFINER): no value means true.
func defTrue(d *pg_query.DefElem) bool {
	arg := d.GetArg()
	switch {
	case arg == nil:
		return true
	case arg.GetBoolean() != nil:
		return arg.GetBoolean().GetBoolval()
	case arg.GetInteger() != nil:
		return arg.GetInteger().GetIval() != 0
	case arg.GetString_() != nil:
		switch strings.ToLower(arg.GetString_().GetSval()) {
		case "true", "on", "yes", "1":
			return true
		}
		return false
	case arg.GetAConst() != nil:
		return arg.GetAConst().GetBoolval().GetBoolval()
	}
	// An empty Boolean message (false) decodes as a Node without a value.
	return false
}

// call adds what a function call does to v.
func (c checker) call(v *verdict, call funcCall) {
	if class, ok := dangerousFunction(call.name); ok {
		v.add(class, fmt.Sprintf("%s %s", call, functionDanger[class]))
	}
	if call.name == "set_config" && (call.schema == "" || call.schema == "pg_catalog") {
		name, ok := "", false
		if len(call.args) > 0 {
			name, ok = stringArg(call.args[0])
		}
		switch {
		case !ok:
			v.add(ClassSetRole, "set_config() with a setting name computed at run time may change the role")
		default:
			c.setting(v, strings.ToLower(name), "set_config('"+name+"')")
		}
	}
	if v.kind == KindRead && changesState(call) {
		v.kind = KindWrite
		v.warn(fmt.Sprintf("calls %s, which changes state: counted as a write", call))
	}
}

var functionDanger = map[Class]string{
	ClassFileAccess:       "reads or writes files on the database server",
	ClassRemoteConnection: "connects from the database server to another server",
	ClassServerControl:    "acts on the database server or on other sessions",
	ClassDynamicSQL:       "runs SQL given as text, which cannot be checked here",
}

// setting adds what changing the run-time setting name does.
func (c checker) setting(v *verdict, name, what string) {
	switch name {
	case "role", "session_authorization":
		v.add(ClassSetRole, what+" changes the role the session runs as")
	case "standard_conforming_strings", "client_encoding":
		v.add(ClassParserSetting, what+" changes how the server reads the SQL that follows")
	case "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "transaction_timeout":
		v.warn(what + " changes a time limit set for this request")
	case "session_replication_role":
		v.warn(what + " can switch off triggers and foreign key checks")
	}
}
