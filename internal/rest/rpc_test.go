package rest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRPC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	run(t, e, []scenario{
		{name: "scalar by POST", call: call{method: "POST", path: "/rpc/add", body: map[string]any{"a": 1, "b": 2}}, status: 200, raw: "3"},
		{name: "scalar with a default argument", call: call{method: "POST", path: "/rpc/add", body: map[string]any{"a": 1}}, status: 200, raw: "11"},
		{name: "scalar by GET", call: call{path: "/rpc/add?a=5&b=6"}, status: 200, raw: "11"},
		{name: "overload chosen by argument names", call: call{path: "/rpc/greet?first=Ada&last=Lovelace"}, status: 200, raw: `"hello Ada Lovelace"`},
		{name: "other overload", call: call{method: "POST", path: "/rpc/greet", body: map[string]any{"name": "Grace"}}, status: 200, raw: `"hello Grace"`},
		{name: "set of rows with filters, order and select", call: call{path: "/rpc/posts_by?author=1&select=id,title&order=id.desc&published=is.true"},
			status: 200, body: `[{"id":2,"title":"Bernoulli numbers"},{"id":1,"title":"Notes on the Engine"}]`},
		{name: "set of rows with an embed", call: call{method: "POST", path: "/rpc/posts_by?select=id,authors!author_id(name)&limit=1&order=id", body: map[string]any{"author": 2}},
			status: 200, body: `[{"id":3,"authors":{"name":"Grace"}}]`},
		{name: "set of rows with count", call: call{path: "/rpc/posts_by?author=1&limit=1", header: map[string]string{"Prefer": "count=exact"}},
			status: 206, headers: map[string]string{"Content-Range": "0-0/2"}},
		{name: "offset beyond a function's rows", call: call{path: "/rpc/posts_by?author=1&offset=5", header: map[string]string{"Prefer": "count=exact"}},
			status: 416, code: "PGRST103", headers: map[string]string{"Content-Range": "*/2"}},
		{name: "set of scalars", call: call{path: "/rpc/numbers?n=3"}, status: 200, body: `[1,2,3]`},
		{name: "out parameters", call: call{path: "/rpc/pair"}, status: 200, body: `{"x":1,"y":"one"}`},
		{name: "single object", call: call{path: "/rpc/posts_by?author=3&select=title", header: map[string]string{"Accept": "application/vnd.pgrst.object+json"}},
			status: 200, body: `{"title":"Kernel release"}`},
		{name: "single object of many", call: call{path: "/rpc/posts_by?author=1", header: map[string]string{"Accept": "application/vnd.pgrst.object+json"}},
			status: 406, code: "PGRST116"},
		{name: "json argument", call: call{method: "POST", path: "/rpc/echo", body: map[string]any{"payload": map[string]any{"a": []int{1, 2}}}},
			status: 200, body: `{"a":[1,2]}`},
		{name: "single unnamed json body", call: call{method: "POST", path: "/rpc/echo", body: map[string]any{"whole": true},
			header: map[string]string{"Prefer": "params=single-object"}}, status: 200, body: `{"whole":true}`,
			headers: map[string]string{"Preference-Applied": "params=single-object"}},
		{name: "variadic by POST", call: call{method: "POST", path: "/rpc/total", body: map[string]any{"nums": []int{1, 2, 3}}}, status: 200, raw: "6"},
		{name: "variadic by GET with repeated parameters", call: call{path: "/rpc/total?nums=4&nums=5"}, status: 200, raw: "9"},
		{name: "void", call: call{method: "POST", path: "/rpc/noop"}, status: 204, raw: "-"},
		{name: "volatile by POST", call: call{method: "POST", path: "/rpc/bump", body: map[string]any{"counter": "rpc"}}, status: 200, raw: "1"},
		{name: "volatile by GET runs read-only and fails when it writes", call: call{path: "/rpc/bump?counter=x"}, status: 405, code: "25006"},
		{name: "volatile by GET succeeds when it only reads", call: call{path: "/rpc/noop"}, status: 204},
		{name: "unknown function", call: call{method: "POST", path: "/rpc/nope", body: map[string]any{}}, status: 404, code: "PGRST202"},
		{name: "unknown argument", call: call{method: "POST", path: "/rpc/add", body: map[string]any{"zzz": 1}}, status: 404, code: "PGRST202"},
		{name: "missing required argument", call: call{path: "/rpc/add?b=1"}, status: 404, code: "PGRST202"},
		{name: "raise exception", call: call{method: "POST", path: "/rpc/fail", body: map[string]any{"msg": "nope"}}, status: 400, code: "P0001"},
		{name: "put on rpc", call: call{method: "PUT", path: "/rpc/add", body: map[string]any{"a": 1}}, status: 405, code: "PGRST101"},
		{name: "request settings reach SQL", call: call{path: "/rpc/whoami"}, status: 200, body: `{"role":"anon","uid":null,"method":"GET"}`},
	})
	r := e.do(t, call{method: "POST", path: "/rpc/fail", body: map[string]any{"msg": "nope"}})
	var body map[string]any
	r.JSON(t, &body)
	require.Equal(t, map[string]any{"code": "P0001", "message": "nope", "details": nil, "hint": "try again"}, body)
	r = e.do(t, call{method: "POST", path: "/rpc/add", body: map[string]any{"a": 1, "b": 1}, header: map[string]string{"Prefer": "tx=rollback"}})
	require.Equal(t, http.StatusOK, r.Status)
}

// TestRPCContentRange: every call answers with its range, as in PostgREST; a function returning
// one value or one row counts as one row.
func TestRPCContentRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	exact := map[string]string{"Prefer": "count=exact"}
	run(t, e, []scenario{
		{name: "scalar with count", call: call{method: "POST", path: "/rpc/add", body: map[string]any{"a": 1}, header: exact}, status: 200, raw: "11",
			headers: map[string]string{"Content-Range": "0-0/1"}},
		{name: "scalar by GET with count", call: call{path: "/rpc/add?a=1", header: exact}, status: 200, raw: "11",
			headers: map[string]string{"Content-Range": "0-0/1"}},
		{name: "scalar by HEAD with count", call: call{method: "HEAD", path: "/rpc/add?a=1", header: exact}, status: 200, raw: "-",
			headers: map[string]string{"Content-Range": "0-0/1"}},
		{name: "scalar without count", call: call{path: "/rpc/add?a=1"}, status: 200, headers: map[string]string{"Content-Range": "0-0/*"}},
		{name: "one row with count", call: call{path: "/rpc/pair", header: exact}, status: 200, body: `{"x":1,"y":"one"}`,
			headers: map[string]string{"Content-Range": "0-0/1"}},
		{name: "void", call: call{method: "POST", path: "/rpc/noop", header: exact}, status: 204, headers: map[string]string{"Content-Range": "0-0/1"}},
	})
}

// TestSearchPath: a request's SQL runs with the requested schema first on its search_path,
// then the extra search path, as PostgREST sets it: a function naming a table without its
// schema reads the one of the profile it was called through.
func TestSearchPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `
CREATE TABLE public.things (id int PRIMARY KEY, name text);
INSERT INTO public.things VALUES (1, 'here');
CREATE FUNCTION public.thing_name() RETURNS text LANGUAGE sql STABLE AS 'SELECT name FROM things LIMIT 1';
CREATE FUNCTION other.thing_name() RETURNS text LANGUAGE sql STABLE AS 'SELECT name FROM things LIMIT 1';
CREATE FUNCTION other.thing_name_plpgsql() RETURNS text LANGUAGE plpgsql STABLE AS 'BEGIN RETURN (SELECT name FROM things LIMIT 1); END';
CREATE SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
CREATE FUNCTION extensions.twice(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 2 * $1';
CREATE FUNCTION public.uses_extension(n int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN twice(n); END';
CREATE FUNCTION other.path() RETURNS text LANGUAGE sql STABLE AS $$SELECT current_setting('search_path')$$;`)
	other := map[string]string{"Content-Profile": "other"}
	run(t, e, []scenario{
		{name: "default schema", call: call{method: "POST", path: "/rpc/thing_name"}, status: 200, body: `"here"`},
		{name: "the profile's table", call: call{method: "POST", path: "/rpc/thing_name", header: other}, status: 200, body: `"elsewhere"`},
		{name: "in plpgsql too", call: call{method: "POST", path: "/rpc/thing_name_plpgsql", header: other}, status: 200, body: `"elsewhere"`},
		{name: "the profile's table by GET", call: call{path: "/rpc/thing_name", header: map[string]string{"Accept-Profile": "other"}}, status: 200,
			body: `"elsewhere"`},
		{name: "the extra search path", call: call{path: "/rpc/uses_extension?n=21"}, status: 200, body: `42`},
		{name: "the whole path", call: call{method: "POST", path: "/rpc/path", header: other}, status: 200, body: `"\"other\", \"public\", \"extensions\""`},
	})
}

func TestRPCAmbiguousOverload(t *testing.T) {
	t.Parallel()
	// Created in an order unlike PostgREST's, which lists fewer parameters first, then by the
	// parameters' names and types.
	e := newEnv(t, `CREATE FUNCTION twin(x text) RETURNS text LANGUAGE sql AS 'SELECT x';
		CREATE FUNCTION twin(x int) RETURNS int LANGUAGE sql AS 'SELECT x';
		CREATE FUNCTION opt(a int DEFAULT 1, b int DEFAULT 2) RETURNS int LANGUAGE sql AS 'SELECT a';
		CREATE FUNCTION opt(b int DEFAULT 1) RETURNS int LANGUAGE sql AS 'SELECT b';
		CREATE FUNCTION opt() RETURNS int LANGUAGE sql AS 'SELECT 0';`)
	for path, message := range map[string]string{
		"/rpc/twin?x=1": "Could not choose the best candidate function between: public.twin(x => integer), public.twin(x => text)",
		"/rpc/opt":      "Could not choose the best candidate function between: public.opt(), public.opt(b => integer), public.opt(a => integer, b => integer)",
	} {
		r := e.do(t, call{path: path})
		require.Equal(t, http.StatusMultipleChoices, r.Status, "%s", r.Body)
		var body map[string]any
		r.JSON(t, &body)
		require.Equal(t, map[string]any{"code": "PGRST203", "message": message, "details": nil,
			"hint": "Try renaming the parameters or the function itself in the database so function overloading can be resolved"}, body)
	}
}

// TestRPCUnknownArguments checks that PGRST202 names every argument the client sent, as
// PostgREST does, not only those some overload knows.
func TestRPCUnknownArguments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		call    call
		message string
		details string
	}{
		{call: call{path: "/rpc/add?a=1&c=2"},
			message: "Could not find the function public.add(a, c) in the schema cache",
			details: "Searched for the function public.add with parameters a, c, but no matches were found in the schema cache."},
		{call: call{method: "POST", path: "/rpc/add", body: map[string]any{"c": 2, "a": 1}},
			message: "Could not find the function public.add(a, c) in the schema cache",
			details: "Searched for the function public.add with parameters a, c or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache."},
	} {
		r := e.do(t, c.call)
		require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
		var body map[string]any
		r.JSON(t, &body)
		require.Equal(t, "PGRST202", body["code"])
		require.Equal(t, c.message, body["message"])
		require.Equal(t, c.details, body["details"])
		require.Equal(t, "Perhaps you meant to call the function public.add(a, b)", body["hint"])
	}
	// A GET parameter that is an operator expression still filters the result.
	r := e.do(t, call{path: "/rpc/posts_by?author=1&id=eq.2&select=id"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, jsonText(t, `[{"id":2}]`), jsonOf(t, r))
}

func TestRPCMaxAffected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `CREATE TABLE items (id int PRIMARY KEY);
		INSERT INTO items SELECT generate_series(1, 15);
		CREATE FUNCTION delete_items() RETURNS SETOF items LANGUAGE sql AS 'DELETE FROM items WHERE id < 15 RETURNING *';
		CREATE FUNCTION delete_items_void() RETURNS void LANGUAGE sql AS 'DELETE FROM items';`)
	strict := func(n string) map[string]string {
		return map[string]string{"Prefer": "handling=strict, max-affected=" + n}
	}
	remaining := func() int {
		r := e.do(t, call{path: "/items?select=id", header: map[string]string{"Prefer": "count=exact"}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var rows []map[string]any
		r.JSON(t, &rows)
		return len(rows)
	}

	// Too many rows returned: 400 PGRST124 and the deletion is rolled back.
	r := e.do(t, call{method: "POST", path: "/rpc/delete_items", header: strict("10")})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	var body map[string]any
	r.JSON(t, &body)
	require.Equal(t, map[string]any{"code": "PGRST124", "message": "Query result exceeds max-affected preference constraint",
		"details": "The query affects 14 rows", "hint": nil}, body)
	require.Equal(t, 15, remaining())

	// A function that does not return a set cannot be capped: 400 PGRST128 before it runs.
	r = e.do(t, call{method: "POST", path: "/rpc/delete_items_void", header: strict("20")})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	r.JSON(t, &body)
	require.Equal(t, "PGRST128", body["code"])
	require.Equal(t, 15, remaining())
	r = e.do(t, call{path: "/rpc/add?a=1", header: strict("1")})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "PGRST128")

	// Within the cap the call commits.
	r = e.do(t, call{method: "POST", path: "/rpc/delete_items?select=id&order=id.desc", header: strict("14")})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "handling=strict, max-affected=14", r.Header.Get("Preference-Applied"))
	var deleted []map[string]any
	r.JSON(t, &deleted)
	require.Len(t, deleted, 14)
	require.Equal(t, map[string]any{"id": float64(14)}, deleted[0])
	require.Equal(t, 1, remaining())
}
