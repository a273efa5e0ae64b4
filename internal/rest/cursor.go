package rest

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cursor walks a query parameter value for the hand-written parsers of select=, order= and
// filters. Its errors say where parsing stopped, which ends up in PGRST100's details.
type cursor struct {
	s   string
	pos int
}

func (c *cursor) done() bool { return c.pos >= len(c.s) }

func (c *cursor) rest() string { return c.s[c.pos:] }

func (c *cursor) peek(prefix string) bool { return strings.HasPrefix(c.s[c.pos:], prefix) }

func (c *cursor) eat(prefix string) bool {
	if c.peek(prefix) {
		c.pos += len(prefix)
		return true
	}
	return false
}

func (c *cursor) skipSpaces() {
	for !c.done() && (c.s[c.pos] == ' ' || c.s[c.pos] == '\t' || c.s[c.pos] == '\n') {
		c.pos++
	}
}

func (c *cursor) errorf(format string, args ...any) error {
	return fmt.Errorf("%s at position %d in %q", fmt.Sprintf(format, args...), c.pos, c.s)
}

// isNameRune reports whether r may appear in an unquoted column, table or alias name.
func isNameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$' || r == ' '
}

// identifier reads a name: a run of name characters, or a double-quoted name in which ""
// stands for a quote (as in SQL) and \" or \\ are accepted too.
func (c *cursor) identifier() (string, error) {
	if c.eat(`"`) {
		var b strings.Builder
		for !c.done() {
			ch := c.s[c.pos]
			switch {
			case ch == '\\' && c.pos+1 < len(c.s):
				b.WriteByte(c.s[c.pos+1])
				c.pos += 2
			case ch == '"' && c.pos+1 < len(c.s) && c.s[c.pos+1] == '"':
				b.WriteByte('"')
				c.pos += 2
			case ch == '"':
				c.pos++
				if b.Len() == 0 {
					return "", c.errorf("empty quoted name")
				}
				return b.String(), nil
			default:
				b.WriteByte(ch)
				c.pos++
			}
		}
		return "", c.errorf("unterminated quoted name")
	}
	start := c.pos
	for !c.done() {
		r, size := utf8.DecodeRuneInString(c.s[c.pos:])
		if !isNameRune(r) {
			break
		}
		c.pos += size
	}
	name := strings.TrimSpace(c.s[start:c.pos])
	if name == "" {
		return "", c.errorf("expected a name")
	}
	if strings.ContainsRune(name, 0) {
		return "", errors.New("names must not contain NUL")
	}
	return name, nil
}

// field reads a column name and an optional JSON path (->key, ->>key, ->0).
func (c *cursor) field() (Field, error) {
	name, err := c.identifier()
	if err != nil {
		return Field{}, err
	}
	f := Field{Name: name}
	for {
		var text bool
		switch {
		case c.eat("->>"):
			text = true
		case c.eat("->"):
		default:
			return f, nil
		}
		key, err := c.jsonKey()
		if err != nil {
			return Field{}, err
		}
		f.JSON = append(f.JSON, JSONStep{Key: key, Text: text})
	}
}

// jsonKey reads one JSON path key: a name, an array index (possibly negative) or a quoted key.
func (c *cursor) jsonKey() (string, error) {
	if c.peek(`"`) {
		return c.identifier()
	}
	start := c.pos
	if c.peek("-") {
		c.pos++
	}
	for !c.done() {
		r, size := utf8.DecodeRuneInString(c.s[c.pos:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$') {
			break
		}
		c.pos += size
	}
	if c.pos == start || c.s[start:c.pos] == "-" {
		return "", c.errorf("expected a JSON key")
	}
	return c.s[start:c.pos], nil
}
