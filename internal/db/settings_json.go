package db

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// appendHeadersJSON appends request.headers: each header's first value under its lower-cased name,
// credentials left out, as a JSON object with the names in order. It writes the very bytes
// json.Marshal gives for the same map[string]string, without building the map: this runs on
// every request, and the map, the lower-cased names and the reflection cost about forty
// allocations per request.
func appendHeadersJSON(b []byte, h http.Header) []byte {
	var names [32]string
	list := names[:0]
	for name, values := range h {
		if len(values) == 0 || hiddenFromSQL(name) {
			continue
		}
		list = append(list, name)
	}
	slices.SortFunc(list, compareLower)
	b = append(b, '{')
	opened := len(b)
	for i, name := range list {
		if i > 0 && compareLower(list[i-1], name) == 0 {
			// Two spellings of one name: the map json.Marshal would see keeps only one.
			continue
		}
		if len(b) > opened {
			b = append(b, ',')
		}
		if isASCII(name) {
			b = appendJSONString(b, name, true)
		} else {
			b = appendJSONString(b, strings.ToLower(name), false)
		}
		b = append(b, ':')
		b = appendJSONString(b, h[name][0], false)
	}
	return append(b, '}')
}

// hiddenFromSQL reports whether the header called name (in any case) is one of
// headersHiddenFromSQL.
func hiddenFromSQL(name string) bool {
	for hidden := range headersHiddenFromSQL {
		if strings.EqualFold(name, hidden) {
			return true
		}
	}
	return false
}

// compareLower orders names by their lower-cased form without allocating for ASCII ones.
func compareLower(a, b string) int {
	if isASCII(a) && isASCII(b) {
		for i := range min(len(a), len(b)) {
			ca, cb := lowerByte(a[i]), lowerByte(b[i])
			if ca != cb {
				return int(ca) - int(cb)
			}
		}
		return len(a) - len(b)
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// appendJSONString appends s as a JSON string the way encoding/json writes it (HTML
// characters, U+2028 and U+2029 escaped, invalid UTF-8 replaced by U+FFFD). lower writes
// ASCII letters lower-cased.
func appendJSONString(b []byte, s string, lower bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = appendChunk(b, s[start:i], lower)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = appendChunk(b, s[start:i], lower)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = appendChunk(b, s[start:i], lower)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = appendChunk(b, s[start:], lower)
	b = append(b, '"')
	return b
}

func appendChunk(b []byte, s string, lower bool) []byte {
	if !lower {
		return append(b, s...)
	}
	for i := range len(s) {
		b = append(b, lowerByte(s[i]))
	}
	return b
}
