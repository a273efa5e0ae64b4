package replication

import (
	"encoding/json"
	"errors"
	"strings"
)

// typeInfo is what rendering a value needs to know about its type (from pg_type).
type typeInfo struct {
	Name     string
	Category string
	Elem     uint32 // element type of an array type, 0 otherwise
	Delim    byte   // array element delimiter of this type (',' for almost all)
	// Base is a domain's base type, 0 for other types. A domain's value is its base type's
	// (the stream names a column by its declared type, the domain), and to_jsonb renders it
	// as the base type: a domain over jsonb is JSON, over int[] an array.
	Base uint32
}

// Type OIDs rendered specially. They are fixed for every PostgreSQL installation.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidOID         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidTimetz      = 1266
	oidNumeric     = 1700
	oidJSONB       = 3802
)

// renderValue returns text, the output of the type's output function, as to_jsonb would
// render the typed value. Types it does not know become JSON strings, as to_jsonb does for
// them too.
func renderValue(types map[uint32]typeInfo, oid uint32, text string) json.RawMessage {
	info := types[oid]
	if info.Base != 0 && info.Base != oid {
		return renderValue(types, info.Base, text)
	}
	switch {
	case oid == oidBool || (info.Category == "B" && (text == "t" || text == "f")):
		if text == "t" {
			return json.RawMessage("true")
		}
		return json.RawMessage("false")
	case oid == oidInt2 || oid == oidInt4 || oid == oidInt8 || oid == oidOID ||
		oid == oidFloat4 || oid == oidFloat8 || oid == oidNumeric || info.Category == "N":
		if isJSONNumber(text) {
			return json.RawMessage(text)
		}
		return jsonString(text) // NaN, Infinity, money
	case oid == oidJSON || oid == oidJSONB:
		if json.Valid([]byte(text)) {
			return json.RawMessage(text)
		}
		return jsonString(text)
	case oid == oidTimestamptz || oid == oidTimestamp:
		return jsonString(isoTimestamp(text))
	case oid == oidTimetz:
		return jsonString(fullOffset(text))
	case info.Category == "A" && info.Elem != 0:
		if rendered, err := renderArray(types, info.Elem, text); err == nil {
			return rendered
		}
		return jsonString(text)
	default:
		return jsonString(text)
	}
}

func jsonString(s string) json.RawMessage {
	out, _ := json.Marshal(s) // a string always encodes
	return out
}

// isJSONNumber reports whether s is a number JSON accepts as it is (PostgreSQL's numeric and
// float output is, except for NaN and the infinities).
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

// isoTimestamp turns PostgreSQL's ISO output ("2024-01-02 03:04:05.6+00") into what to_jsonb
// writes ("2024-01-02T03:04:05.6+00:00"). Infinity and BC dates are left as they are.
func isoTimestamp(s string) string {
	if len(s) < 11 || s[10] != ' ' || strings.HasSuffix(s, " BC") {
		return s
	}
	return fullOffset(s[:10] + "T" + s[11:])
}

// fullOffset writes a trailing UTC offset of hours only ("+00", "-03") as "+00:00".
func fullOffset(s string) string {
	i := strings.LastIndexAny(s, "+-")
	if i < 0 || len(s)-i != 3 || i < 8 {
		return s
	}
	return s + ":00"
}

var errBadArray = errors.New("malformed array literal")

// renderArray renders an array literal ("{1,2,NULL}", "{{a,b},{c,d}}", "[0:1]={x,y}") as a
// JSON array whose elements are rendered with the element type.
func renderArray(types map[uint32]typeInfo, elem uint32, text string) (json.RawMessage, error) {
	if strings.HasPrefix(text, "[") {
		// Explicit bounds come first when the lower bound is not 1; JSON has no place for them.
		i := strings.Index(text, "=")
		if i < 0 {
			return nil, errBadArray
		}
		text = text[i+1:]
	}
	delim := types[elem].Delim
	if delim == 0 {
		delim = ','
	}
	p := arrayParser{text: text, delim: delim, render: func(s string) json.RawMessage { return renderValue(types, elem, s) }}
	var b strings.Builder
	if err := p.parse(&b); err != nil {
		return nil, err
	}
	if p.pos != len(p.text) {
		return nil, errBadArray
	}
	return json.RawMessage(b.String()), nil
}

type arrayParser struct {
	text   string
	pos    int
	delim  byte
	render func(string) json.RawMessage
}

// parse reads one brace-enclosed level at pos and writes it as a JSON array.
func (p *arrayParser) parse(b *strings.Builder) error {
	if p.pos >= len(p.text) || p.text[p.pos] != '{' {
		return errBadArray
	}
	p.pos++
	b.WriteByte('[')
	if p.pos < len(p.text) && p.text[p.pos] == '}' {
		p.pos++
		b.WriteByte(']')
		return nil
	}
	for {
		if p.pos >= len(p.text) {
			return errBadArray
		}
		switch p.text[p.pos] {
		case '{':
			if err := p.parse(b); err != nil {
				return err
			}
		case '"':
			s, err := p.quoted()
			if err != nil {
				return err
			}
			b.Write(p.render(s))
		default:
			s := p.unquoted()
			if strings.EqualFold(s, "NULL") {
				b.WriteString("null")
			} else {
				b.Write(p.render(s))
			}
		}
		if p.pos >= len(p.text) {
			return errBadArray
		}
		switch p.text[p.pos] {
		case p.delim:
			p.pos++
			b.WriteByte(',')
		case '}':
			p.pos++
			b.WriteByte(']')
			return nil
		default:
			return errBadArray
		}
	}
}

func (p *arrayParser) quoted() (string, error) {
	p.pos++ // opening quote
	var s strings.Builder
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.text) {
				return "", errBadArray
			}
			s.WriteByte(p.text[p.pos+1])
			p.pos += 2
		case '"':
			p.pos++
			return s.String(), nil
		default:
			s.WriteByte(c)
			p.pos++
		}
	}
	return "", errBadArray
}

func (p *arrayParser) unquoted() string {
	start := p.pos
	for p.pos < len(p.text) && p.text[p.pos] != p.delim && p.text[p.pos] != '}' {
		p.pos++
	}
	return strings.TrimSpace(p.text[start:p.pos])
}
