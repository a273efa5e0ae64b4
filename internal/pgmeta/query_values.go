package pgmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// Type OIDs whose values POST /pg/query answers as JSON numbers, booleans, JSON or arrays.
// They are fixed in every PostgreSQL installation.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidOID         = 26
	oidJSON        = 114
	oidJSONArray   = 199
	oidFloat4      = 700
	oidFloat8      = 701
	oidBoolArray   = 1000
	oidInt2Array   = 1005
	oidInt4Array   = 1007
	oidInt8Array   = 1016
	oidFloat4Array = 1021
	oidFloat8Array = 1022
	oidOIDArray    = 1028
	oidNumArray    = 1231
	oidJSONB       = 3802
	oidJSONBArray  = 3807
)

// stringArrays are the array types node-postgres turns into arrays of strings; any other
// array type reaches postgres-meta's clients as PostgreSQL's text ("{1,2}"), and so it does
// here.
var stringArrays = map[uint32]bool{
	651: true, 791: true, 1008: true, 1009: true, 1014: true, 1015: true, 1040: true,
	1041: true, 1115: true, 1182: true, 1183: true, 1185: true, 1270: true, 2951: true, 3907: true,
}

// maxSafeInteger is the largest integer a JavaScript number holds exactly (2^53 - 1):
// node-postgres as postgres-meta configures it answers larger int8 values as strings.
const maxSafeInteger = 1<<53 - 1

// appendValue appends the JSON of a value in PostgreSQL's text format, typed the way
// postgres-meta's answers are (node-postgres with its parsers): booleans, int2, int4, oid
// and floats as JSON numbers, int8 as a number while a JavaScript number holds it exactly,
// json and jsonb as themselves, arrays of those and of strings as JSON arrays, and everything
// else (numeric, dates and times, bytea, ...) as the text PostgreSQL wrote.
func appendValue(dst []byte, oid uint32, text []byte) []byte {
	if text == nil {
		return append(dst, "null"...)
	}
	switch oid {
	case oidBool:
		return appendBool(dst, text)
	case oidInt2, oidInt4, oidOID:
		return appendNumber(dst, text)
	case oidInt8:
		if n, err := strconv.ParseInt(string(text), 10, 64); err == nil && n <= maxSafeInteger && n >= -maxSafeInteger {
			return append(dst, text...)
		}
		return appendString(dst, text)
	case oidFloat4, oidFloat8:
		return appendFloat(dst, text)
	case oidJSON, oidJSONB:
		if json.Valid(text) {
			return append(dst, text...)
		}
		return appendString(dst, text)
	}
	if elem, ok := arrayElement(oid); ok {
		if out, err := appendArray(dst, elem, text); err == nil {
			return out
		}
	}
	return appendString(dst, text)
}

// arrayElement is how the elements of an array type are answered: the element type whose
// rule applies, or 0 for strings.
func arrayElement(oid uint32) (uint32, bool) {
	switch oid {
	case oidBoolArray:
		return oidBool, true
	case oidInt2Array, oidInt4Array, oidOIDArray:
		return oidInt4, true
	case oidInt8Array:
		// node-postgres parses int8[] into strings whatever their size.
		return 0, true
	case oidFloat4Array, oidFloat8Array, oidNumArray:
		return oidFloat8, true
	case oidJSONArray, oidJSONBArray:
		return oidJSON, true
	}
	return 0, stringArrays[oid]
}

func appendBool(dst, text []byte) []byte {
	if string(text) == "t" {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendNumber appends text as a JSON number, or as a string if it is none.
func appendNumber(dst, text []byte) []byte {
	if isJSONNumber(text) {
		return append(dst, text...)
	}
	return appendString(dst, text)
}

// appendFloat appends a float as JavaScript's JSON.stringify does: NaN and the infinities
// are null.
func appendFloat(dst, text []byte) []byte {
	if isJSONNumber(text) {
		return append(dst, text...)
	}
	return append(dst, "null"...)
}

func appendString(dst, text []byte) []byte {
	out, _ := json.Marshal(string(text)) // a Go string always encodes
	return append(dst, out...)
}

// isJSONNumber reports whether s is a number JSON takes as it is (PostgreSQL's integer and
// float output are, except NaN and the infinities).
func isJSONNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && s[start] == '0') {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// appendArray appends an array literal ({1,2,NULL}, {{"a b",c}}, [0:1]={1,2}) as a JSON
// array, each element by the rule of elem (0: strings).
func appendArray(dst []byte, elem uint32, text []byte) ([]byte, error) {
	if i := bytes.IndexByte(text, '='); len(text) > 0 && text[0] == '[' && i > 0 {
		text = text[i+1:] // explicit bounds: the elements are what matters
	}
	p := arrayParser{text: text}
	out, err := p.array(dst, elem)
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.text) {
		return nil, errBadArray
	}
	return out, nil
}

var errBadArray = errors.New("pgmeta: malformed array literal")

type arrayParser struct {
	text []byte
	pos  int
}

func (p *arrayParser) array(dst []byte, elem uint32) ([]byte, error) {
	if p.pos >= len(p.text) || p.text[p.pos] != '{' {
		return nil, errBadArray
	}
	p.pos++
	dst = append(dst, '[')
	if p.pos < len(p.text) && p.text[p.pos] == '}' {
		p.pos++
		return append(dst, ']'), nil
	}
	for first := true; ; first = false {
		if !first {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = p.element(dst, elem); err != nil {
			return nil, err
		}
		if p.pos >= len(p.text) {
			return nil, errBadArray
		}
		switch p.text[p.pos] {
		case ',', ';': // box[] is the one type delimited by ';'
			p.pos++
		case '}':
			p.pos++
			return append(dst, ']'), nil
		default:
			return nil, errBadArray
		}
	}
}

func (p *arrayParser) element(dst []byte, elem uint32) ([]byte, error) {
	if p.pos >= len(p.text) {
		return nil, errBadArray
	}
	switch p.text[p.pos] {
	case '{':
		return p.array(dst, elem)
	case '"':
		p.pos++
		var v []byte
		for {
			if p.pos >= len(p.text) {
				return nil, errBadArray
			}
			c := p.text[p.pos]
			p.pos++
			if c == '"' {
				break
			}
			if c == '\\' {
				if p.pos >= len(p.text) {
					return nil, errBadArray
				}
				c = p.text[p.pos]
				p.pos++
			}
			v = append(v, c)
		}
		return appendElement(dst, elem, v), nil
	}
	start := p.pos
	for p.pos < len(p.text) && p.text[p.pos] != ',' && p.text[p.pos] != ';' && p.text[p.pos] != '}' {
		p.pos++
	}
	v := p.text[start:p.pos]
	if string(v) == "NULL" {
		return append(dst, "null"...), nil
	}
	return appendElement(dst, elem, v), nil
}

func appendElement(dst []byte, elem uint32, v []byte) []byte {
	switch elem {
	case 0:
		return appendString(dst, v)
	case oidFloat8:
		return appendFloat(dst, v)
	}
	return appendValue(dst, elem, v)
}
