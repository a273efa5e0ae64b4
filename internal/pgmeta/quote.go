package pgmeta

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ident quotes a possibly qualified name: ident("public", "posts") is "public"."posts".
func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// roleIdent quotes a role name, except PUBLIC, which names every role only unquoted.
func roleIdent(name string) string {
	if strings.EqualFold(name, "public") {
		return "PUBLIC"
	}
	return ident(name)
}

func roleList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = roleIdent(n)
	}
	return strings.Join(out, ", ")
}

// literal quotes a string constant. DDL takes no bind parameters, so constants are written
// into it; every change sets standard_conforming_strings, under which doubling the quotes
// is the whole escaping. NUL cannot be stored in text at all.
func literal(s string) (string, error) {
	if strings.ContainsRune(s, 0) {
		return "", badRequest("text values cannot contain NUL characters")
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

// valueLiteral writes a JSON value as the constant postgres-meta writes for a literal
// default: strings and numbers quoted, booleans 't'/'f', null NULL, objects and arrays as
// jsonb.
func valueLiteral(raw json.RawMessage) (string, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", badRequest("default_value is not valid JSON")
	}
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case bool:
		if x {
			return "'t'", nil
		}
		return "'f'", nil
	case string:
		return literal(x)
	case json.Number:
		return literal(x.String())
	default:
		l, err := literal(string(raw))
		if err != nil {
			return "", err
		}
		return l + "::jsonb", nil
	}
}

// typePattern is what a column type may look like: a name, possibly qualified or quoted,
// with words (timestamp with time zone), a modifier and array brackets. Type names are
// written into DDL as given, as postgres-meta does; anything else is refused before
// PostgreSQL sees it.
var typePattern = regexp.MustCompile(`^("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)(\.("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*))?( [A-Za-z]+)*( ?\( *[0-9]+( *, *-?[0-9]+)? *\))?( [A-Za-z]+)*( ?\[[0-9]*\])*$`)

func typeName(t string) (string, error) {
	t = strings.TrimSpace(t)
	if !typePattern.MatchString(t) {
		return "", badRequest("%q is not a type name", t)
	}
	return t, nil
}

// oneOf checks an enumerated field.
func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return badRequest("%s must be one of %s (got %q)", field, strings.Join(allowed, ", "), v)
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return badRequest("%s is required", field)
	}
	return nil
}

// pathID reads the numeric {id} of a route.
func pathID(raw, noun string) (int64, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound("Cannot find %s with ID %s", noun, raw)
	}
	return id, nil
}

func firstElement(array []byte) ([]byte, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(array, &items); err != nil {
		return nil, fmt.Errorf("pgmeta: decode: %w", err)
	}
	if len(items) == 0 {
		return nil, nil
	}
	return items[0], nil
}
