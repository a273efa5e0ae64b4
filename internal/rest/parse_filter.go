package rest

import (
	"errors"
	"fmt"
	"strings"
)

// Filter operators and whether they take the (any)/(all) quantifier.
func operatorQuantifiable(op string) (known, quantifiable bool) {
	switch op {
	case "eq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch":
		return true, true
	case "neq", "is", "isdistinct", "in", "cs", "cd", "ov", "sl", "sr", "nxl", "nxr", "adj",
		"fts", "plfts", "phfts", "wfts":
		return true, false
	}
	return false, false
}

func isTextSearch(op string) bool {
	return op == "fts" || op == "plfts" || op == "phfts" || op == "wfts"
}

// parseFilterParam parses a filter parameter: key is [embed.path.]column[->json path], value
// is [not.]op[(modifier)].operand. It returns the embedding path and the condition.
func parseFilterParam(key, value string) (string, Condition, error) {
	head, tail := key, ""
	if i := strings.Index(key, "->"); i >= 0 {
		head, tail = key[:i], key[i:]
	}
	path, column := "", head
	if i := strings.LastIndex(head, "."); i >= 0 {
		path, column = head[:i], head[i+1:]
	}
	c := &cursor{s: column + tail}
	field, err := c.field()
	if err == nil && !c.done() {
		err = c.errorf("unexpected %q", c.rest())
	}
	if err != nil {
		return "", Condition{}, queryParamError(fmt.Sprintf("failed to parse filter (%s)", key), err.Error())
	}
	cond, err := parseOperation(field, value, false)
	if err != nil {
		return "", Condition{}, queryParamError(fmt.Sprintf("failed to parse filter (%s)", value), err.Error())
	}
	return path, cond, nil
}

// parseOperation parses [not.]op[(modifier)].operand for field. Inside logic trees an operand
// may be double-quoted to protect commas and parentheses.
func parseOperation(field Field, v string, inTree bool) (Condition, error) {
	cond := Condition{Field: field}
	if rest, ok := strings.CutPrefix(v, "not."); ok {
		cond.Negate, v = true, rest
	}
	end := strings.IndexAny(v, ".(")
	if end < 0 {
		return cond, fmt.Errorf("expected an operator and a value in %q", v)
	}
	cond.Op = v[:end]
	known, quantifiable := operatorQuantifiable(cond.Op)
	if !known {
		return cond, fmt.Errorf("unknown operator %q", cond.Op)
	}
	v = v[end:]
	if strings.HasPrefix(v, "(") {
		closing := strings.Index(v, ")")
		if closing < 0 {
			return cond, errors.New("unterminated operator modifier")
		}
		modifier := v[1:closing]
		switch {
		case quantifiable && (modifier == "any" || modifier == "all"):
			cond.Quant = modifier
		case isTextSearch(cond.Op) && modifier != "":
			cond.Lang = modifier
		default:
			return cond, fmt.Errorf("operator %s does not take the modifier %q", cond.Op, modifier)
		}
		v = v[closing+1:]
	}
	operand, ok := strings.CutPrefix(v, ".")
	if !ok {
		return cond, fmt.Errorf("expected \".\" after operator %s", cond.Op)
	}
	if inTree {
		operand = unquoteOperand(operand)
	}
	switch cond.Op {
	case "in":
		values, err := parseList(operand)
		if err != nil {
			return cond, err
		}
		cond.Values = values
	case "is":
		switch strings.ToLower(operand) {
		case "null", "not_null", "true", "false", "unknown":
			cond.Value = strings.ToLower(operand)
		default:
			return cond, fmt.Errorf("is accepts null, not_null, true, false or unknown, not %q", operand)
		}
	default:
		cond.Value = operand
	}
	return cond, nil
}

// unquoteOperand removes the double quotes around an operand of a logic tree, undoing \" and \\.
func unquoteOperand(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	inner := v[1 : len(v)-1]
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\\' && i+1 < len(inner) {
			i++
		}
		b.WriteByte(inner[i])
	}
	return b.String()
}

// parseList parses in's operand: (a,b,"c,d"). Items may be double-quoted to hold commas,
// parentheses or quotes (\" and \\ escapes).
func parseList(v string) ([]string, error) {
	if len(v) < 2 || v[0] != '(' || v[len(v)-1] != ')' {
		return nil, fmt.Errorf("in expects a parenthesised list, not %q", v)
	}
	inner := v[1 : len(v)-1]
	if strings.TrimSpace(inner) == "" {
		return []string{}, nil
	}
	var (
		out    []string
		b      strings.Builder
		quoted bool
	)
	for i := 0; i < len(inner); i++ {
		ch := inner[i]
		switch {
		case quoted && ch == '\\' && i+1 < len(inner):
			i++
			b.WriteByte(inner[i])
		case ch == '"':
			quoted = !quoted
		case ch == ',' && !quoted:
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(ch)
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote in list")
	}
	return append(out, b.String()), nil
}

// splitTopLevel splits v at commas outside parentheses and double quotes.
func splitTopLevel(v string) ([]string, error) {
	var (
		out    []string
		depth  int
		quoted bool
		start  int
	)
	for i := 0; i < len(v); i++ {
		switch ch := v[i]; {
		case quoted && ch == '\\':
			i++
		case ch == '"':
			quoted = !quoted
		case quoted:
		case ch == '(':
			depth++
		case ch == ')':
			depth--
			if depth < 0 {
				return nil, errors.New("unbalanced parentheses")
			}
		case ch == ',' && depth == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	if depth != 0 || quoted {
		return nil, errors.New("unbalanced parentheses or quotes")
	}
	return append(out, v[start:]), nil
}

// maxLogicDepth bounds nesting of and/or trees.
const maxLogicDepth = 16

// parseLogicTree parses the operand of or=/and=: a parenthesised list of conditions, each
// col.op.value or a nested and(...)/or(...)/not.and(...)/not.or(...).
func parseLogicTree(logic string, negate bool, v string) (Condition, error) {
	return parseLogicDepth(logic, negate, v, 0)
}

func parseLogicDepth(logic string, negate bool, v string, depth int) (Condition, error) {
	if depth > maxLogicDepth {
		return Condition{}, errors.New("logic tree is nested too deeply")
	}
	if len(v) < 2 || v[0] != '(' || v[len(v)-1] != ')' {
		return Condition{}, fmt.Errorf("expected a parenthesised list, not %q", v)
	}
	parts, err := splitTopLevel(v[1 : len(v)-1])
	if err != nil {
		return Condition{}, err
	}
	cond := Condition{Logic: logic, Negate: negate}
	for _, part := range parts {
		part = strings.TrimSpace(part)
		childNegate := false
		rest := part
		if r, ok := strings.CutPrefix(rest, "not."); ok && (strings.HasPrefix(r, "and(") || strings.HasPrefix(r, "or(")) {
			childNegate, rest = true, r
		}
		if r, ok := strings.CutPrefix(rest, "and"); ok && strings.HasPrefix(r, "(") {
			child, err := parseLogicDepth("and", childNegate, r, depth+1)
			if err != nil {
				return Condition{}, err
			}
			cond.Children = append(cond.Children, child)
			continue
		}
		if r, ok := strings.CutPrefix(rest, "or"); ok && strings.HasPrefix(r, "(") {
			child, err := parseLogicDepth("or", childNegate, r, depth+1)
			if err != nil {
				return Condition{}, err
			}
			cond.Children = append(cond.Children, child)
			continue
		}
		c := &cursor{s: part}
		field, err := c.field()
		if err != nil {
			return Condition{}, err
		}
		if !c.eat(".") {
			return Condition{}, c.errorf("expected \".\" after the column")
		}
		child, err := parseOperation(field, c.rest(), true)
		if err != nil {
			return Condition{}, err
		}
		cond.Children = append(cond.Children, child)
	}
	return cond, nil
}

// parseOrder parses order=: terms separated by commas, each column[->path] or
// relation(column), then optionally .asc/.desc and .nullsfirst/.nullslast.
func parseOrder(v string) ([]OrderTerm, error) {
	parts, err := splitTopLevel(v)
	if err != nil {
		return nil, queryParamError(fmt.Sprintf("failed to parse order (%s)", v), err.Error())
	}
	var terms []OrderTerm
	for _, part := range parts {
		term, err := parseOrderTerm(strings.TrimSpace(part))
		if err != nil {
			return nil, queryParamError(fmt.Sprintf("failed to parse order (%s)", v), err.Error())
		}
		terms = append(terms, term)
	}
	return terms, nil
}

func parseOrderTerm(s string) (OrderTerm, error) {
	c := &cursor{s: s}
	var term OrderTerm
	field, err := c.field()
	if err != nil {
		return term, err
	}
	if len(field.JSON) == 0 && c.eat("(") {
		term.Relation = field.Name
		if field, err = c.field(); err != nil {
			return term, err
		}
		if !c.eat(")") {
			return term, c.errorf("expected \")\"")
		}
	}
	term.Field = field
	for c.eat(".") {
		word, err := c.identifier()
		if err != nil {
			return term, err
		}
		switch word {
		case "asc":
			term.Desc = false
		case "desc":
			term.Desc = true
		case "nullsfirst":
			term.Nulls = "first"
		case "nullslast":
			term.Nulls = "last"
		default:
			return term, fmt.Errorf("unknown order modifier %q", word)
		}
	}
	if !c.done() {
		return term, c.errorf("unexpected %q", c.rest())
	}
	return term, nil
}
