package rest_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// unnamedParams are functions with unnamed parameters: PostgREST calls one whose only parameter
// is unnamed and of type json, jsonb, text, xml or bytea with the request body, and cannot call
// the others (their arguments have no names to send).
const unnamedParams = `
CREATE FUNCTION body_json(json) RETURNS json LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE FUNCTION body_text(text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper($1)';
CREATE FUNCTION body_xml(xml) RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT (xpath('/a/text()', $1))[1]::text$$;
CREATE FUNCTION body_bytes(bytea) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT length($1)';
CREATE FUNCTION unnamed_int(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE FUNCTION unnamed_pair(text, text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT $1 || $2';
CREATE FUNCTION maybe(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1';
CREATE FUNCTION maybe(x text) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 2';
CREATE FUNCTION both_json(json) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1';
CREATE FUNCTION both_json(jsonb) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 2';
`

func TestRPCUnnamedParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, unnamedParams)
	text := map[string]string{"Content-Type": "text/plain"}
	run(t, e, []scenario{
		{name: "json body whole", call: call{method: "POST", path: "/rpc/body_json", body: `{"a":[1,2],"b":null}`}, status: 200,
			body: `{"a":[1,2],"b":null}`},
		{name: "json array body whole", call: call{method: "POST", path: "/rpc/body_json", body: `[{"a":1},{"a":2}]`}, status: 200,
			body: `[{"a":1},{"a":2}]`},
		{name: "text/plain body", call: call{method: "POST", path: "/rpc/body_text", body: "hello, world", header: text}, status: 200,
			body: `"HELLO, WORLD"`},
		{name: "a json body matched by the empty key goes whole to text", call: call{method: "POST", path: "/rpc/body_text", body: `{"":"x"}`}, status: 200,
			body: `"{\"\":\"X\"}"`},
		{name: "text/xml body", call: call{method: "POST", path: "/rpc/body_xml", body: "<a>inside</a>", header: map[string]string{"Content-Type": "text/xml"}},
			status: 200, body: `"inside"`},
		{name: "octet-stream body", call: call{method: "POST", path: "/rpc/body_bytes", body: "\x00\x01\\x\xff",
			header: map[string]string{"Content-Type": "application/octet-stream"}}, status: 200, body: `5`},
		{name: "json body for a text parameter is not the fallback", call: call{method: "POST", path: "/rpc/body_text", body: `{"a":1}`}, status: 404,
			code: "PGRST202"},
		{name: "text body for a json parameter", call: call{method: "POST", path: "/rpc/body_json", body: "x", header: text}, status: 404,
			code: "PGRST202"},
		{name: "unnamed int is not callable", call: call{method: "POST", path: "/rpc/unnamed_int", body: `{"":1}`}, status: 404, code: "PGRST202"},
		{name: "two unnamed parameters are not callable", call: call{path: "/rpc/unnamed_pair"}, status: 404, code: "PGRST202"},
		{name: "an uncallable overload is left out", call: call{path: "/rpc/maybe?x=a"}, status: 200, body: `2`},
		{name: "two unnamed json overloads are ambiguous", call: call{method: "POST", path: "/rpc/both_json", body: `{"a":1}`}, status: 300, code: "PGRST203"},
	})

	r := e.do(t, call{method: "POST", path: "/rpc/unnamed_int", body: `{"":1}`})
	var body map[string]any
	r.JSON(t, &body)
	require.Equal(t, map[string]any{
		"code":    "PGRST202",
		"message": "Could not find the function public.unnamed_int() in the schema cache",
		"details": "Searched for the function public.unnamed_int with parameter  or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
		"hint":    nil,
	}, body, "the function is not in the schema cache, so no hint names it")

	r = e.do(t, call{method: "POST", path: "/rpc/body_json", body: "x", header: text})
	r.JSON(t, &body)
	require.Equal(t, map[string]any{
		"code":    "PGRST202",
		"message": "Could not find the function public.body_json in the schema cache",
		"details": "Searched for the function public.body_json with a single unnamed text parameter, but no matches were found in the schema cache.",
		"hint":    nil,
	}, body)

	r = e.do(t, call{method: "POST", path: "/rpc/maybe", body: `{"y":1}`})
	r.JSON(t, &body)
	require.Equal(t, "Perhaps you meant to call the function public.maybe(x)", body["hint"], "hints name only callable overloads")
}
