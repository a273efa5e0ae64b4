package pgmeta

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// localeCompare orders names as JavaScript's String.prototype.localeCompare does in the
// generator supabase CLI runs (ICU's root collation), near enough for identifiers:
// punctuation before digits before letters, letters without regard to case first, then
// lower case before upper case.
func localeCompare(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		if c := primary(ra[i]) - primary(rb[i]); c != 0 {
			return sign(c)
		}
	}
	if c := len(ra) - len(rb); c != 0 {
		return sign(c)
	}
	for i := range ra {
		if ra[i] != rb[i] {
			if unicode.IsLower(ra[i]) && unicode.IsUpper(rb[i]) {
				return -1
			}
			if unicode.IsUpper(ra[i]) && unicode.IsLower(rb[i]) {
				return 1
			}
			return sign(int(ra[i]) - int(rb[i]))
		}
	}
	return 0
}

func primary(r rune) int {
	switch {
	case unicode.IsLetter(r):
		return 3<<21 | int(unicode.ToLower(r))
	case unicode.IsDigit(r):
		return 2<<21 | int(r)
	default:
		return 1<<21 | int(r)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func sortByName[T any](items []T, name func(T) string) {
	slices.SortStableFunc(items, func(a, b T) int { return localeCompare(name(a), name(b)) })
}

var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// tsKey is a property name as the generated file writes it: bare when it is an identifier,
// quoted otherwise ("user-id").
func tsKey(name string) string {
	if identifier.MatchString(name) {
		return name
	}
	return tsString(name)
}

// tsString is JSON.stringify of a string: a double-quoted literal.
func tsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[r>>4])
				b.WriteByte("0123456789abcdef"[r&0xf])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tsStrings is JSON.stringify of a list of strings: ["a","b"] (prettier puts a space after
// each comma).
func tsStrings(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = tsString(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// indent adds n levels of two spaces to every line of s but the first, so that a multi-line
// type written after "key: " stays aligned with its key.
func indent(s string, n int) string {
	pad := strings.Repeat("  ", n)
	return strings.ReplaceAll(s, "\n", "\n"+pad)
}

// objectType writes a type literal, one member a line: {\n  a: x\n}. No members is {}.
func objectType(members []string) string {
	if len(members) == 0 {
		return "{}"
	}
	var b strings.Builder
	b.WriteString("{\n")
	for _, m := range members {
		b.WriteString("  " + indent(m, 1) + "\n")
	}
	b.WriteString("}")
	return b.String()
}

// inlineObjectType writes { a: x; b?: y } on one line when it fits in width columns and has
// no multi-line member, else one member a line.
func inlineObjectType(members []string, width int) string {
	line := "{ " + strings.Join(members, "; ") + " }"
	if len(line) <= width && !strings.Contains(line, "\n") {
		return line
	}
	return objectType(members)
}

// nullable adds "| null" unless the type already admits null (unknown, any).
func nullable(t string, isNullable bool) string {
	if t == "unknown" || t == "any" || !isNullable {
		return t
	}
	return t + " | null"
}
