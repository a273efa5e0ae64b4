package pgmeta

import (
	"fmt"
	"slices"
	"strings"
)

// functionMembers writes the Functions group: one member per function name, whose type is
// the union of its overloads' signatures.
func (g *tsGenerator) functionMembers(schema string, fns []tsFn) []string {
	var names []string
	byName := map[string][]tsFn{}
	for _, f := range fns {
		if _, seen := byName[f.fn.Name]; !seen {
			names = append(names, f.fn.Name)
		}
		byName[f.fn.Name] = append(byName[f.fn.Name], f)
	}
	var out []string
	for _, name := range names {
		overloads := byName[name]
		slices.SortStableFunc(overloads, func(a, b tsFn) int {
			if c := localeCompare(a.fn.ArgumentTypes, b.fn.ArgumentTypes); c != 0 {
				return c
			}
			return localeCompare(a.fn.ReturnType, b.fn.ReturnType)
		})
		if len(overloads) == 1 {
			out = append(out, tsKey(name)+": "+g.signature(schema, overloads, overloads[0], 62))
			continue
		}
		var b strings.Builder
		b.WriteString(tsKey(name) + ":")
		for _, f := range overloads {
			sig := g.signature(schema, overloads, f, 58)
			// prettier's layout of a union of object types: "| {", the members two further in.
			sig = "{" + strings.ReplaceAll(strings.TrimPrefix(sig, "{"), "\n", "\n  ")
			b.WriteString("\n  | " + sig)
		}
		out = append(out, b.String())
	}
	return out
}

// signature writes { Args; Returns; SetofOptions } of one overload; width is what is left of
// the line for an inline Args object.
func (g *tsGenerator) signature(schema string, overloads []tsFn, f tsFn, width int) string {
	args := "never"
	if len(f.inArgs) > 0 {
		members := make([]string, len(f.inArgs))
		for i, a := range f.inArgs {
			q := ""
			if a.HasDefault {
				q = "?"
			}
			members[i] = tsKey(a.Name) + q + ": " + g.typeOf(schema, a.TypeID)
		}
		args = inlineObjectType(members, width)
	}
	returns := g.returnType(schema, f.fn)
	if msg := g.conflict(schema, overloads, f); msg != "" {
		returns = "{\n  error: true\n} & " + tsString(msg)
	} else if g.takesRowWithoutResult(f) {
		returns = "{\n  error: true\n} & " + tsString(fmt.Sprintf(
			"the function %s.%s with parameter or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache",
			schema, f.fn.Name))
	}
	members := []string{"Args: " + args}
	members = append(members, g.returnMembers(f.fn, returns)...)
	return objectType(members)
}

// returnType is the TypeScript type of one row (or value) a function returns.
func (g *tsGenerator) returnType(schema string, fn tsFunction) string {
	// RETURNS TABLE (...): its columns, not nullable.
	var tableCols []string
	for _, a := range fn.Args {
		if a.Mode == "table" {
			tableCols = append(tableCols, tsKey(a.Name)+": "+g.typeOf(schema, a.TypeID))
		}
	}
	if len(tableCols) > 0 {
		return objectType(tableCols)
	}
	// A row of a relation of the same schema: its columns.
	if fn.ReturnTypeRelationID != nil {
		so := g.bySchema[schema]
		for _, list := range [][]tsEntry{so.tables, so.views} {
			for _, e := range list {
				if e.rel.ID == *fn.ReturnTypeRelationID {
					var cols []string
					for _, c := range g.colsByTable[e.rel.ID] {
						cols = append(cols, g.column(schema, c, false, c.IsNullable))
					}
					return objectType(cols)
				}
			}
		}
	}
	return g.typeOf(schema, fn.ReturnTypeID)
}

// returnMembers writes Returns, made an array for a set-returning function, and the
// SetofOptions postgrest-js reads to type rpc() results that can be selected from like a
// table.
func (g *tsGenerator) returnMembers(fn tsFunction, returns string) []string {
	target := g.relationName(fn.ReturnTypeRelationID, fn.ReturnTypeID)
	setOfTable := fn.IsSetReturningFunction && fn.ReturnTypeRelationID != nil
	manyRows := fn.Prorows != nil && *fn.Prorows > 1
	var setof []string
	if target != "" {
		setof = setofOptions("*", target, !manyRows, fn.IsSetReturningFunction)
	}
	if len(fn.Args) == 1 {
		if source, ok := g.relTypes[fn.Args[0].TypeID]; ok && target != "" {
			if setOfTable {
				setof = setofOptions(source.Format, target, !manyRows, true)
			} else {
				setof = setofOptions(source.Format, target, true, false)
			}
		}
	}
	// A ROWS 1 estimate collapses the array only alongside SetofOptions, which tells
	// postgrest-js how to restore it for a plain rpc() call.
	collapsible := !manyRows && target != ""
	if fn.IsSetReturningFunction && !collapsible {
		returns += "[]"
	}
	members := []string{"Returns: " + returns}
	if setof != nil {
		members = append(members, "SetofOptions: "+objectType(setof))
	}
	return members
}

func setofOptions(from, to string, oneToOne, setofReturn bool) []string {
	return []string{"from: " + tsString(from), "to: " + tsString(to),
		fmt.Sprintf("isOneToOne: %t", oneToOne), fmt.Sprintf("isSetofReturn: %t", setofReturn)}
}

// takesRowWithoutResult: a single unnamed row argument, but nothing PostgREST can embed
// comes back, so PostgREST cannot call it (it reports no match in its schema cache).
func (g *tsGenerator) takesRowWithoutResult(f tsFn) bool {
	if len(f.inArgs) != 1 || f.inArgs[0].Name != "" {
		return false
	}
	_, isRow := g.relTypes[f.inArgs[0].TypeID]
	return isRow && g.relationName(f.fn.ReturnTypeRelationID, f.fn.ReturnTypeID) == ""
}

// conflict is PostgREST's error for overloads it cannot tell apart: a function without
// arguments beside one whose only argument is unnamed and defaulted, or one named argument
// of different types.
func (g *tsGenerator) conflict(schema string, overloads []tsFn, f tsFn) string {
	if len(overloads) <= 1 {
		return ""
	}
	typeName := func(id int64) string {
		if t, ok := g.typesByID[id]; ok {
			return t.Name
		}
		return "unknown"
	}
	if len(f.inArgs) == 0 {
		for _, o := range overloads {
			if o.fn.ID != f.fn.ID && len(o.inArgs) == 1 && o.inArgs[0].Name == "" && o.inArgs[0].HasDefault {
				return fmt.Sprintf("Could not choose the best candidate function between: %s.%s(), %s.%s( => %s). Try renaming the parameters or the function itself in the database so function overloading can be resolved",
					schema, f.fn.Name, schema, f.fn.Name, typeName(o.fn.ReturnTypeID))
			}
		}
	}
	if len(f.inArgs) == 1 && f.inArgs[0].Name != "" {
		all := []tsFn{f}
		for _, o := range overloads {
			if o.fn.ID != f.fn.ID && len(o.inArgs) == 1 && o.inArgs[0].Name == f.inArgs[0].Name && o.inArgs[0].TypeID != f.inArgs[0].TypeID {
				all = append(all, o)
			}
		}
		if len(all) > 1 {
			slices.SortStableFunc(all, func(a, b tsFn) int { return sign(int(a.inArgs[0].TypeID - b.inArgs[0].TypeID)) })
			parts := make([]string, len(all))
			for i, o := range all {
				parts[i] = fmt.Sprintf("%s.%s(%s => %s)", schema, f.fn.Name, o.inArgs[0].Name, typeName(o.inArgs[0].TypeID))
			}
			return "Could not choose the best candidate function between: " + strings.Join(parts, ", ") +
				". Try renaming the parameters or the function itself in the database so function overloading can be resolved"
		}
	}
	return ""
}
