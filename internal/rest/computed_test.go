package rest_test

import (
	"testing"
)

// computedFields adds functions over the fixture's row types: computed fields of authors and
// posts, one shadowed by a real column, one anon may not execute, and lookalikes that are not
// computed fields (a second argument, SETOF).
const computedFields = `
CREATE FUNCTION display_name(authors) RETURNS text LANGUAGE sql STABLE AS $$SELECT $1.name || ' #' || $1.id$$;
CREATE FUNCTION post_count(authors) RETURNS int8 LANGUAGE sql STABLE
	AS $$SELECT count(*) FROM posts WHERE author_id = $1.id$$;
CREATE FUNCTION title(posts) RETURNS text LANGUAGE sql STABLE AS $$SELECT 'from the function'$$;
CREATE FUNCTION secret_score(authors) RETURNS int LANGUAGE sql STABLE AS $$SELECT 42$$;
REVOKE EXECUTE ON FUNCTION secret_score(authors) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION secret_score(authors) TO authenticated;
CREATE FUNCTION tagged(authors, text) RETURNS text LANGUAGE sql STABLE AS $$SELECT $2 || $1.name$$;
CREATE FUNCTION aliases(authors) RETURNS SETOF text LANGUAGE sql STABLE AS $$SELECT $1.name$$;
CREATE FUNCTION all_authors() RETURNS SETOF authors LANGUAGE sql STABLE AS $$SELECT * FROM authors$$;
`

// TestComputedFields: a function taking one row of a table and returning a scalar reads like a
// column of that table in select=, filters and order=, but not in select=*.
func TestComputedFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, computedFields)
	run(t, e, []scenario{
		{name: "select with alias and cast", call: call{path: "/authors?select=id,display_name,label:display_name,n:post_count::text&id=eq.1"},
			status: 200, body: `[{"id":1,"display_name":"Ada #1","label":"Ada #1","n":"2"}]`},
		{name: "star leaves computed fields out", call: call{path: "/authors?select=*&id=eq.3"}, status: 200,
			body: `[{"id":3,"name":"Linus","email":null,"meta":{"lang":"fi"},"born":null}]`},
		{name: "filter", call: call{path: "/authors?select=id&display_name=eq.Grace%20%232"}, status: 200,
			body: `[{"id":2}]`},
		{name: "filter inside or", call: call{path: "/authors?select=id&or=(display_name.like.L*,post_count.eq.2)&order=id"}, status: 200,
			body: `[{"id":1},{"id":3}]`},
		{name: "negated filter", call: call{path: "/authors?select=id&post_count=not.eq.1"}, status: 200,
			body: `[{"id":1}]`},
		{name: "order", call: call{path: "/authors?select=id&order=display_name.desc"}, status: 200,
			body: `[{"id":3},{"id":2},{"id":1}]`},
		{name: "order with a tie-breaker", call: call{path: "/authors?select=id&order=post_count.desc,id.desc"}, status: 200,
			body: `[{"id":1},{"id":3},{"id":2}]`},
		{name: "inside an embed", call: call{path: "/posts?select=id,authors!author_id(display_name,posts:post_count)&id=in.(1,3)&order=id"}, status: 200,
			body: `[{"id":1,"authors":{"display_name":"Ada #1","posts":2}},{"id":3,"authors":{"display_name":"Grace #2","posts":1}}]`},
		{name: "embedded filter on a computed field", call: call{path: "/posts?select=id,authors!author_id!inner(id)&authors.display_name=eq.Linus%20%233"}, status: 200,
			body: `[{"id":4,"authors":{"id":3}}]`},
		{name: "a real column shadows a function of the same name", call: call{path: "/posts?select=title&id=eq.3"}, status: 200,
			body: `[{"title":"Compilers"}]`},
		{name: "shadowed in filters too", call: call{path: "/posts?select=id&title=eq.from%20the%20function"}, status: 200,
			body: `[]`},
		{name: "no EXECUTE for anon", call: call{path: "/authors?select=id,secret_score"}, status: 401, code: "42501"},
		{name: "no EXECUTE for anon in a filter", call: call{path: "/authors?select=id&secret_score=eq.42"}, status: 401, code: "42501"},
		{name: "EXECUTE granted to the caller", call: call{path: "/authors?select=secret_score&id=eq.1", token: e.UserToken(t, userA, nil)}, status: 200,
			body: `[{"secret_score":42}]`},
		{name: "two arguments is not a computed field", call: call{path: "/authors?select=id,tagged"}, status: 400, code: "42703"},
		{name: "SETOF is not a computed field", call: call{path: "/authors?select=id,aliases"}, status: 400, code: "42703"},
		{name: "SETOF is not filterable", call: call{path: "/authors?select=id&aliases=eq.Ada"}, status: 400, code: "42703"},
		{name: "nor orderable", call: call{path: "/authors?select=id&order=tagged"}, status: 400, code: "42703"},
		{name: "on the rows of a function", call: call{path: "/rpc/posts_by?author=1&select=id,title&title=eq.from%20the%20function&order=id"}, status: 200,
			body: `[]`},
		{name: "on the rows of a function, with filter and order", call: call{method: "POST", path: "/rpc/posts_by?select=id,authors!author_id(post_count)&order=id.desc",
			body: map[string]any{"author": 1}}, status: 200, body: `[{"id":2,"authors":{"post_count":2}},{"id":1,"authors":{"post_count":2}}]`},
		{name: "a function's rows of authors", call: call{method: "POST", path: "/rpc/all_authors?select=name,display_name&post_count=eq.1&order=display_name",
			body: map[string]any{}}, status: 200, body: `[{"name":"Grace","display_name":"Grace #2"},{"name":"Linus","display_name":"Linus #3"}]`},
		{name: "not on the rows a write returns", call: call{method: "POST", path: "/authors?select=display_name", body: map[string]any{"id": 9, "name": "Nine"},
			header: map[string]string{"Prefer": "return=representation"}}, status: 400, code: "42703"},
	})
}
