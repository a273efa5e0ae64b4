package meta

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A view's rewrite rule is stored as a pg_node_tree: PostgreSQL's text serialisation of the
// parsed query (src/backend/nodes/outfuncs.c). Its top-level target list says, for each
// column of the view, which table column it passes through unchanged (resorigtbl and
// resorigcol; PostgreSQL traces these through subqueries, joins and CTEs of the view's own
// query). That is what lets foreign keys of a base table apply to a view over it.

// treeItem is one element of a parsed node tree: an atom (a token), a node ({TYPE :field
// value ...}) or a list ((item ...)).
type treeItem struct {
	atom string
	node *treeNode
	list []treeItem
}

// treeNode is {TYPE :field value ...}. A field's value is usually one item; a few fields
// (a Const's value, say) span several atoms.
type treeNode struct {
	typ    string
	fields map[string][]treeItem
}

// treeTokens splits a node tree the way PostgreSQL's pg_strtok does: parentheses and braces
// are tokens of their own, whitespace separates tokens, and a backslash makes the next
// character part of the token.
func treeTokens(s string) []string {
	var tokens []string
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case ' ', '\n', '\t', '\r':
			i++
		case '(', ')', '{', '}':
			tokens = append(tokens, s[i:i+1])
			i++
		default:
			start := i
			for i < len(s) && !strings.ContainsRune(" \n\t\r(){}", rune(s[i])) {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				i++
			}
			tokens = append(tokens, s[start:i])
		}
	}
	return tokens
}

// treeParser reads the tokens of one node tree.
type treeParser struct {
	tokens []string
	pos    int
}

var errTreeEnd = errors.New("node tree ends early")

func parseNodeTree(s string) (treeItem, error) {
	p := &treeParser{tokens: treeTokens(s)}
	item, err := p.item()
	if err != nil {
		return treeItem{}, err
	}
	if p.pos != len(p.tokens) {
		return treeItem{}, fmt.Errorf("node tree has %d tokens after its end", len(p.tokens)-p.pos)
	}
	return item, nil
}

func (p *treeParser) next() (string, error) {
	if p.pos >= len(p.tokens) {
		return "", errTreeEnd
	}
	t := p.tokens[p.pos]
	p.pos++
	return t, nil
}

func (p *treeParser) item() (treeItem, error) {
	t, err := p.next()
	if err != nil {
		return treeItem{}, err
	}
	switch t {
	case "{":
		n, err := p.node()
		return treeItem{node: n}, err
	case "(":
		list := []treeItem{}
		for p.pos < len(p.tokens) && p.tokens[p.pos] != ")" {
			it, err := p.item()
			if err != nil {
				return treeItem{}, err
			}
			list = append(list, it)
		}
		if _, err := p.next(); err != nil {
			return treeItem{}, err
		}
		return treeItem{list: list}, nil
	case ")", "}":
		return treeItem{}, fmt.Errorf("unexpected %q in node tree", t)
	}
	return treeItem{atom: t}, nil
}

// node reads a node's type and fields up to its closing brace. A field's value runs to the
// next ":name" token, but its first item is always taken, so a value that itself starts with
// a colon (a column named ":x") is not mistaken for the next field.
func (p *treeParser) node() (*treeNode, error) {
	typ, err := p.next()
	if err != nil {
		return nil, err
	}
	n := &treeNode{typ: typ, fields: map[string][]treeItem{}}
	for {
		if p.pos >= len(p.tokens) {
			return nil, errTreeEnd
		}
		t := p.tokens[p.pos]
		if t == "}" {
			p.pos++
			return n, nil
		}
		if !strings.HasPrefix(t, ":") {
			return nil, fmt.Errorf("expected a field name in %s node, got %q", typ, t)
		}
		p.pos++
		var value []treeItem
		for first := true; p.pos < len(p.tokens); first = false {
			t := p.tokens[p.pos]
			if t == "}" || (!first && strings.HasPrefix(t, ":")) {
				break
			}
			it, err := p.item()
			if err != nil {
				return nil, err
			}
			value = append(value, it)
		}
		n.fields[t[1:]] = value
	}
}

// field returns the single atom of field name, or "".
func (n *treeNode) field(name string) string {
	if v := n.fields[name]; len(v) == 1 {
		return v[0].atom
	}
	return ""
}

// columnOrigin is a column of a table (or view) that another relation's column passes through.
type columnOrigin struct {
	rel uint32
	att int16
}

// viewColumnOrigins reads a view's _RETURN rule (pg_rewrite.ev_action as text) and returns,
// for each view column (by attnum) that is a plain reference to a column of another relation,
// that column.
func viewColumnOrigins(evAction string) (map[int16]columnOrigin, error) {
	tree, err := parseNodeTree(evAction)
	if err != nil {
		return nil, err
	}
	if len(tree.list) == 0 || tree.list[0].node == nil || tree.list[0].node.typ != "QUERY" {
		return nil, errors.New("rule action is not a query")
	}
	targets := tree.list[0].node.fields["targetList"]
	origins := map[int16]columnOrigin{}
	if len(targets) != 1 {
		return origins, nil // no target list (<>)
	}
	for _, it := range targets[0].list {
		te := it.node
		if te == nil || te.typ != "TARGETENTRY" || te.field("resjunk") == "true" {
			continue
		}
		resno, err1 := strconv.ParseInt(te.field("resno"), 10, 16)
		rel, err2 := strconv.ParseUint(te.field("resorigtbl"), 10, 32)
		att, err3 := strconv.ParseInt(te.field("resorigcol"), 10, 16)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("unreadable target entry %v", te.fields)
		}
		if rel != 0 && att > 0 {
			origins[int16(resno)] = columnOrigin{rel: uint32(rel), att: int16(att)}
		}
	}
	return origins, nil
}
