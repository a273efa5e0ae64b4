package replication

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// testTypes is a catalog excerpt: what pg_type says about the types used below.
var testTypes = map[uint32]typeInfo{
	16:   {Name: "bool", Category: "B", Delim: ','},
	20:   {Name: "int8", Category: "N", Delim: ','},
	23:   {Name: "int4", Category: "N", Delim: ','},
	25:   {Name: "text", Category: "S", Delim: ','},
	603:  {Name: "box", Category: "G", Delim: ';'},
	1007: {Name: "_int4", Category: "A", Elem: 23, Delim: ','},
	1009: {Name: "_text", Category: "A", Elem: 25, Delim: ','},
	1020: {Name: "_box", Category: "A", Elem: 603, Delim: ','},
	1700: {Name: "numeric", Category: "N", Delim: ','},
	3802: {Name: "jsonb", Category: "U", Delim: ','},
	9000: {Name: "my_domain", Category: "N", Delim: ','},
	9001: {Name: "mood", Category: "E", Delim: ','},
	9002: {Name: "_mood", Category: "A", Elem: 9001, Delim: ','},
	// goforward.rich_text and a domain over int[]: rendered as their base types.
	9003: {Name: "rich_text", Category: "U", Delim: ',', Base: 3802},
	9004: {Name: "int_list", Category: "A", Delim: ',', Base: 1007},
	9005: {Name: "nested_domain", Category: "U", Delim: ',', Base: 9003},
}

func TestRenderValueMatchesToJSONB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		oid  uint32
		text string
		want string
	}{
		{"bool true", 16, "t", `true`},
		{"bool false", 16, "f", `false`},
		{"int8", 20, "-9223372036854775808", `-9223372036854775808`},
		{"numeric keeps its scale", 1700, "1.50", `1.50`},
		{"numeric NaN", 1700, "NaN", `"NaN"`},
		{"float infinity", 701, "Infinity", `"Infinity"`},
		{"float exponent", 701, "1e+20", `1e+20`},
		{"domain over a number", 9000, "42", `42`},
		{"jsonb", 3802, `{"a": [1, 2]}`, `{"a": [1, 2]}`},
		{"domain over jsonb", 9003, `{"html": "<p>Hi</p>", "text": "Hi"}`, `{"html": "<p>Hi</p>", "text": "Hi"}`},
		{"domain over a domain over jsonb", 9005, `{"a": 1}`, `{"a": 1}`},
		{"domain over an array", 9004, "{1,2}", `[1,2]`},
		{"text with quotes", 25, `say "hi"`, `"say \"hi\""`},
		{"timestamptz", 1184, "2024-01-02 03:04:05.123456+00", `"2024-01-02T03:04:05.123456+00:00"`},
		{"timestamptz half-hour offset", 1184, "2024-01-02 03:04:05+05:30", `"2024-01-02T03:04:05+05:30"`},
		{"timestamptz negative offset", 1184, "2024-01-02 03:04:05-03", `"2024-01-02T03:04:05-03:00"`},
		{"timestamp", 1114, "2024-01-02 03:04:05", `"2024-01-02T03:04:05"`},
		{"timestamp infinity", 1114, "infinity", `"infinity"`},
		{"timetz", 1266, "03:04:05+00", `"03:04:05+00:00"`},
		{"date", 1082, "2024-01-02", `"2024-01-02"`},
		{"int array", 1007, "{1,2,NULL}", `[1,2,null]`},
		{"empty array", 1007, "{}", `[]`},
		{"two-dimensional array", 1007, "{{1,2},{3,4}}", `[[1,2],[3,4]]`},
		{"array with explicit bounds", 1007, "[0:1]={5,6}", `[5,6]`},
		{"text array with quoting", 1009, `{plain,"with space","a,b","q\"uote","back\\slash",NULL,"NULL"}`,
			`["plain","with space","a,b","q\"uote","back\\slash",null,"NULL"]`},
		{"array of a type with another delimiter", 1020, "{(1,1),(0,0);(2,2),(1,1)}", `["(1,1),(0,0)","(2,2),(1,1)"]`},
		{"enum array", 9002, "{happy,sad}", `["happy","sad"]`},
		{"malformed array falls back to text", 1007, "{1,2", `"{1,2"`},
		{"unknown type is a string", 4242, "whatever", `"whatever"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, string(renderValue(testTypes, tt.oid, tt.text)))
		})
	}
}

func FuzzRenderArray(f *testing.F) {
	f.Add(`{1,"a",{2}}`)
	f.Add(`[1:2]={}`)
	f.Fuzz(func(t *testing.T, text string) {
		out := renderValue(testTypes, 1009, text)
		require.True(t, json.Valid(out), "%q rendered as %s", text, out)
	})
}
