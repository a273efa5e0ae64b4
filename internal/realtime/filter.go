package realtime

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// filterOps are the operators a postgres_changes filter may use.
var filterOps = map[string]bool{
	"eq": true, "neq": true, "lt": true, "lte": true, "gt": true, "gte": true,
	"in": true, "is": true, "isdistinct": true, "like": true, "ilike": true,
}

// maxInValues is Supabase's limit on the values of an in filter.
const maxInValues = 100

// maxFilterConditions bounds the conditions of one filter. Every change of the table is
// matched against every condition of every binding, so a join must not be able to make that
// arbitrarily expensive (Supabase sets no limit; realtime-js subscriptions use one or two).
const maxFilterConditions = 16

// filter is one condition of a postgres_changes filter: column=[not.]op.value.
type filter struct {
	column string
	op     string
	negate bool
	values []string // one value, or the list of an in filter; is: "null", "true" or "false"

	// Set by typed, once the column's type is known.
	category string
	typeName string
	parsed   []comparable
	pattern  *regexp.Regexp
}

// parseFilters reads a filter string as realtime-js writes it: conditions joined by commas
// (all must hold), values quoted with "…" when they contain ,()"\ or surrounding spaces, and
// in-lists in parentheses. A comma may also be escaped as \, in an unquoted value.
func parseFilters(s string) ([]*filter, error) {
	var out []*filter
	for _, part := range splitTopLevel(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		column, rest, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(column) == "" {
			return nil, fmt.Errorf("missing '=' in filter part '%s'", part)
		}
		f := &filter{column: strings.TrimSpace(column)}
		rest = strings.TrimSpace(rest)
		if after, found := strings.CutPrefix(rest, "not."); found {
			f.negate, rest = true, after
		}
		op, value, ok := strings.Cut(rest, ".")
		if !ok || !filterOps[op] {
			return nil, fmt.Errorf("unsupported filter '%s': use column=op.value with op one of eq, neq, lt, lte, gt, gte, in, is, isdistinct, like, ilike", part)
		}
		f.op = op
		switch op {
		case "in":
			if !strings.HasPrefix(value, "(") || !strings.HasSuffix(value, ")") || len(value) < 2 {
				return nil, fmt.Errorf("`in` filter value must be wrapped by parentheses in '%s'", part)
			}
			list := value[1 : len(value)-1]
			if strings.TrimSpace(list) == "" {
				return nil, fmt.Errorf("`in` filter needs at least one value in '%s'", part)
			}
			for _, item := range splitTopLevel(list) {
				v, err := unquote(strings.TrimSpace(item))
				if err != nil {
					return nil, fmt.Errorf("%v in '%s'", err, part)
				}
				f.values = append(f.values, v)
			}
			if len(f.values) == 0 || len(f.values) > maxInValues {
				return nil, fmt.Errorf("`in` filter needs between 1 and %d values in '%s'", maxInValues, part)
			}
		case "is":
			v := strings.ToLower(value)
			if v != "null" && v != "true" && v != "false" {
				return nil, fmt.Errorf("`is` filter value must be null, true or false in '%s'", part)
			}
			f.values = []string{v}
		default:
			v, err := unquote(value)
			if err != nil {
				return nil, fmt.Errorf("%v in '%s'", err, part)
			}
			f.values = []string{v}
		}
		out = append(out, f)
	}
	return out, nil
}

// splitTopLevel splits on commas outside quotes and parentheses, honouring \, escapes.
func splitTopLevel(s string) []string {
	var (
		parts  []string
		cur    strings.Builder
		depth  int
		quoted bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if s[i+1] == ',' && !quoted && depth == 0 {
				cur.WriteByte(',')
			} else {
				cur.WriteByte(c)
				cur.WriteByte(s[i+1])
			}
			i++
			continue
		case c == '"':
			quoted = !quoted
		case c == '(' && !quoted:
			depth++
		case c == ')' && !quoted && depth > 0:
			depth--
		case c == ',' && !quoted && depth == 0:
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(parts, cur.String())
}

// unquote removes PostgREST-style quoting: "a \"b\" \\ c" → a "b" \ c.
func unquote(v string) (string, error) {
	if !strings.HasPrefix(v, `"`) {
		return v, nil
	}
	if len(v) < 2 || !strings.HasSuffix(v, `"`) {
		return "", fmt.Errorf("unterminated quoted value %s", v)
	}
	var b strings.Builder
	body := v[1 : len(v)-1]
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' && i+1 < len(body) {
			i++
		}
		b.WriteByte(body[i])
	}
	return b.String(), nil
}

// comparable is a filter value or row value read as its column's type.
type comparable struct {
	num  *big.Rat
	t    time.Time
	b    bool
	text string
	kind byte // 'n' number, 't' time, 'b' bool, 's' text
}

// typed reads the filter's values as the column's type (pg_type's category and name), so that
// comparisons follow the type: 10 > 9 for numbers, times by instant, UUIDs ignoring case.
func (f *filter) typed(category, typeName string) error {
	f.category, f.typeName = category, typeName
	if f.op == "is" {
		return nil
	}
	if f.op == "like" || f.op == "ilike" {
		re, err := likePattern(f.values[0], f.op == "ilike")
		if err != nil {
			return fmt.Errorf("invalid pattern for %s: %w", f.column, err)
		}
		f.pattern = re
		return nil
	}
	f.parsed = make([]comparable, len(f.values))
	for i, v := range f.values {
		c, ok := readAs(category, typeName, v)
		if !ok {
			return fmt.Errorf("invalid input syntax for type %s: \"%s\"", typeName, v)
		}
		f.parsed[i] = c
	}
	return nil
}

// readAs reads text as a value of the given type.
func readAs(category, typeName, text string) (comparable, bool) {
	switch {
	case category == "N":
		r, ok := new(big.Rat).SetString(strings.TrimSpace(text))
		if !ok {
			return comparable{}, false
		}
		return comparable{num: r, kind: 'n'}, true
	case category == "B":
		b, ok := pgBool(text)
		return comparable{b: b, kind: 'b'}, ok
	case typeName == "timestamptz" || typeName == "timestamp" || typeName == "date":
		t, ok := pgTime(text)
		return comparable{t: t, kind: 't'}, ok
	case typeName == "uuid":
		return comparable{text: strings.ToLower(text), kind: 's'}, true
	default:
		return comparable{text: text, kind: 's'}, true
	}
}

func pgBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "t", "true", "y", "yes", "on", "1":
		return true, true
	case "f", "false", "n", "no", "off", "0":
		return false, true
	}
	return false, false
}

// timeLayouts cover PostgreSQL's ISO output and what clients usually write.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// pgTime reads a date or timestamp; one without a zone is taken as UTC on both sides.
func pgTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func compare(a, b comparable) int {
	switch a.kind {
	case 'n':
		return a.num.Cmp(b.num)
	case 't':
		return a.t.Compare(b.t)
	case 'b':
		switch {
		case a.b == b.b:
			return 0
		case !a.b:
			return -1
		}
		return 1
	}
	return strings.Compare(a.text, b.text)
}

// matches evaluates the filter on a row value: present tells whether the row has a value
// (false for SQL NULL). A condition on NULL is false, except is.null and isdistinct.
func (f *filter) matches(text string, present bool) bool {
	ok := f.evaluate(text, present)
	if f.negate {
		return !ok
	}
	return ok
}

func (f *filter) evaluate(text string, present bool) bool {
	switch f.op {
	case "is":
		if f.values[0] == "null" {
			return !present
		}
		b, ok := pgBool(text)
		return present && ok && b == (f.values[0] == "true")
	case "isdistinct":
		if !present {
			return true
		}
	}
	if !present {
		return false
	}
	if f.pattern != nil {
		return f.pattern.MatchString(text)
	}
	row, ok := readAs(f.category, f.typeName, text)
	if !ok {
		return false
	}
	switch f.op {
	case "eq":
		return compare(row, f.parsed[0]) == 0
	case "neq", "isdistinct":
		return compare(row, f.parsed[0]) != 0
	case "lt":
		return compare(row, f.parsed[0]) < 0
	case "lte":
		return compare(row, f.parsed[0]) <= 0
	case "gt":
		return compare(row, f.parsed[0]) > 0
	case "gte":
		return compare(row, f.parsed[0]) >= 0
	case "in":
		for _, v := range f.parsed {
			if compare(row, v) == 0 {
				return true
			}
		}
	}
	return false
}

// likePattern turns a SQL LIKE pattern (% any run, _ one character, \ escapes) into a
// regular expression; PostgREST also accepts * for %.
func likePattern(pattern string, fold bool) (*regexp.Regexp, error) {
	var b strings.Builder
	if fold {
		b.WriteString("(?is)")
	} else {
		b.WriteString("(?s)")
	}
	b.WriteByte('^')
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '%', '*':
			b.WriteString(".*")
		case '_':
			b.WriteByte('.')
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(string(pattern[i])))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteByte('$')
	return regexp.Compile(b.String())
}

// describeFilters renders filters for error messages.
func describeFilters(fs []*filter) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.column + "=" + f.op + "." + strings.Join(f.values, ",")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
