package rest

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The aggregate functions select= accepts after a column (amount.sum()).
func isAggregate(name string) bool {
	switch name {
	case "sum", "avg", "max", "min", "count":
		return true
	}
	return false
}

// parseSelect parses select=. An empty value means every column.
func parseSelect(v string) ([]SelectItem, error) {
	if strings.TrimSpace(v) == "" {
		return []SelectItem{{Kind: ItemStar}}, nil
	}
	c := &cursor{s: v}
	items, err := c.selectItems(0)
	if err == nil && !c.done() {
		err = c.errorf("unexpected %q", c.rest())
	}
	if err != nil {
		return nil, queryParamError(fmt.Sprintf("failed to parse select parameter (%s)", v), err.Error())
	}
	return items, nil
}

// maxSelectDepth bounds embedding depth so a hostile select= cannot exhaust the stack.
const maxSelectDepth = 16

func (c *cursor) selectItems(depth int) ([]SelectItem, error) {
	if depth > maxSelectDepth {
		return nil, c.errorf("embedding is nested too deeply")
	}
	var items []SelectItem
	for {
		c.skipSpaces()
		item, err := c.selectItem(depth)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		c.skipSpaces()
		if !c.eat(",") {
			return items, nil
		}
	}
}

func (c *cursor) selectItem(depth int) (SelectItem, error) {
	if c.eat("*") {
		return SelectItem{Kind: ItemStar}, nil
	}
	if c.eat("...") {
		item, err := c.embed(depth, "")
		item.Kind = ItemSpread
		return item, err
	}
	name, err := c.identifier()
	if err != nil {
		return SelectItem{}, err
	}
	alias := ""
	if c.peek(":") && !c.peek("::") {
		c.pos++
		alias = name
		if c.eat("...") {
			return SelectItem{}, c.errorf("a spread cannot have an alias")
		}
		if name, err = c.identifier(); err != nil {
			return SelectItem{}, err
		}
	}
	if name == "count" && c.eat("()") {
		item := SelectItem{Kind: ItemCount, Alias: alias, Aggregate: "count"}
		if c.eat("::") {
			if item.AggregateCast, err = c.castType(); err != nil {
				return SelectItem{}, err
			}
		}
		return item, nil
	}
	if c.peek("!") || c.peek("(") {
		item, err := c.embedAfterName(depth, name)
		item.Alias = alias
		return item, err
	}
	// A column, possibly with a JSON path, a cast and an aggregate.
	f := Field{Name: name}
	for c.peek("->") {
		var text bool
		if c.eat("->>") {
			text = true
		} else {
			c.eat("->")
		}
		key, err := c.jsonKey()
		if err != nil {
			return SelectItem{}, err
		}
		f.JSON = append(f.JSON, JSONStep{Key: key, Text: text})
	}
	item := SelectItem{Kind: ItemColumn, Alias: alias, Field: f}
	if c.eat("::") {
		if item.Cast, err = c.castType(); err != nil {
			return SelectItem{}, err
		}
	}
	if c.peek(".") {
		c.pos++
		agg, err := c.identifier()
		if err != nil || !isAggregate(agg) || !c.eat("()") {
			return SelectItem{}, c.errorf("expected an aggregate function (sum, avg, max, min, count)")
		}
		item.Aggregate = agg
		if c.eat("::") {
			if item.AggregateCast, err = c.castType(); err != nil {
				return SelectItem{}, err
			}
		}
	}
	return item, nil
}

func (c *cursor) embed(depth int, alias string) (SelectItem, error) {
	name, err := c.identifier()
	if err != nil {
		return SelectItem{}, err
	}
	item, err := c.embedAfterName(depth, name)
	item.Alias = alias
	return item, err
}

// embedAfterName reads the hints and the parenthesised select list of an embed.
func (c *cursor) embedAfterName(depth int, name string) (SelectItem, error) {
	item := SelectItem{Kind: ItemEmbed, Relation: name}
	for c.eat("!") {
		word, err := c.identifier()
		if err != nil {
			return SelectItem{}, err
		}
		switch word {
		case "inner", "left":
			item.Join = word
		default:
			if item.Hint != "" {
				return SelectItem{}, c.errorf("more than one hint")
			}
			item.Hint = word
		}
	}
	if !c.eat("(") {
		return SelectItem{}, c.errorf("expected \"(\"")
	}
	c.skipSpaces()
	if c.eat(")") {
		return item, nil
	}
	children, err := c.selectItems(depth + 1)
	if err != nil {
		return SelectItem{}, err
	}
	if !c.eat(")") {
		return SelectItem{}, c.errorf("expected \")\"")
	}
	item.Children = children
	return item, nil
}

// castType reads a type name for ::casts: letters, digits, underscores and spaces
// ("double precision"), optionally followed by [] for an array.
func (c *cursor) castType() (string, error) {
	start := c.pos
	for !c.done() {
		r, size := utf8.DecodeRuneInString(c.s[c.pos:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == ' ') {
			break
		}
		c.pos += size
	}
	name := strings.TrimSpace(c.s[start:c.pos])
	if name == "" {
		return "", c.errorf("expected a type name")
	}
	if c.eat("[]") {
		name += "[]"
	}
	return name, nil
}
