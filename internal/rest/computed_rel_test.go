package rest_test

import (
	"testing"
)

// computedRelationships defines relationships through functions over the fixture's row types
// (PostgREST 11's computed relationships): SETOF is to-many, a single row or ROWS 1 to-one,
// and a function named like a table replaces the foreign keys leading there.
const computedRelationships = `
CREATE FUNCTION post_comments(posts) RETURNS SETOF comments LANGUAGE sql STABLE
	AS $$SELECT * FROM comments WHERE post_id = $1.id$$;
CREATE FUNCTION writer(posts) RETURNS SETOF authors ROWS 1 LANGUAGE sql STABLE
	AS $$SELECT * FROM authors WHERE id = $1.author_id$$;
CREATE FUNCTION first_post(authors) RETURNS posts LANGUAGE sql STABLE
	AS $$SELECT * FROM posts WHERE author_id = $1.id ORDER BY id LIMIT 1$$;
CREATE FUNCTION authors(posts) RETURNS SETOF authors ROWS 1 LANGUAGE sql STABLE
	AS $$SELECT * FROM authors WHERE id = $1.reviewer_id$$;
CREATE FUNCTION initials(authors) RETURNS text LANGUAGE sql STABLE AS $$SELECT left($1.name, 1)$$;
CREATE VIEW published_posts AS SELECT id, title, author_id FROM posts WHERE published;
CREATE FUNCTION view_comments(published_posts) RETURNS SETOF comments LANGUAGE sql STABLE
	AS $$SELECT * FROM comments WHERE post_id = $1.id$$;
CREATE FUNCTION post_comment_ids(posts) RETURNS SETOF int LANGUAGE sql STABLE
	AS $$SELECT id FROM comments WHERE post_id = $1.id$$;
`

func TestComputedRelationships(t *testing.T) {
	t.Parallel()
	e := newEnv(t, computedRelationships)
	run(t, e, []scenario{
		{name: "setof is one-to-many", call: call{path: "/posts?select=id,post_comments(text)&id=in.(1,2)&order=id&post_comments.order=text"}, status: 200,
			body: `[{"id":1,"post_comments":[{"text":"Brilliant"},{"text":"Visionary"}]},{"id":2,"post_comments":[]}]`},
		{name: "rows 1 is to-one, with a computed field inside", call: call{path: "/posts?select=id,w:writer(name,initials)&id=lt.4&order=id"}, status: 200,
			body: `[{"id":1,"w":{"name":"Ada","initials":"A"}},{"id":2,"w":{"name":"Ada","initials":"A"}},{"id":3,"w":{"name":"Grace","initials":"G"}}]`},
		{name: "a single row is to-one", call: call{path: "/authors?select=name,first_post(title)&order=id"}, status: 200,
			body: `[{"name":"Ada","first_post":{"title":"Notes on the Engine"}},{"name":"Grace","first_post":{"title":"Compilers"}},{"name":"Linus","first_post":{"title":"Kernel release"}}]`},
		{name: "a function named like a table replaces its foreign keys", call: call{path: "/posts?select=id,authors(name)&order=id"}, status: 200,
			body: `[{"id":1,"authors":{"name":"Grace"}},{"id":2,"authors":null},{"id":3,"authors":{"name":"Ada"}},{"id":4,"authors":null}]`},
		{name: "inner join and filters on the embedded rows", call: call{path: "/posts?select=id,post_comments!inner(text)&post_comments.text=like.*work&order=id"}, status: 200,
			body: `[{"id":3,"post_comments":[{"text":"Needs work"}]}]`},
		{name: "order by a to-one computed relationship", call: call{path: "/posts?select=id,writer(name)&order=writer(name).desc,id&limit=2"}, status: 200,
			body: `[{"id":4,"writer":{"name":"Linus"}},{"id":3,"writer":{"name":"Grace"}}]`},
		{name: "spread of a to-one computed relationship", call: call{path: "/posts?select=id,...writer(writer_name:name)&id=eq.3"}, status: 200,
			body: `[{"id":3,"writer_name":"Grace"}]`},
		{name: "from a view", call: call{path: "/published_posts?select=id,view_comments(text)&id=eq.1&view_comments.order=text"}, status: 200,
			body: `[{"id":1,"view_comments":[{"text":"Brilliant"},{"text":"Visionary"}]}]`},
		{name: "from the rows of a function", call: call{path: "/rpc/posts_by?author=2&select=id,post_comments(text)"}, status: 200,
			body: `[{"id":3,"post_comments":[{"text":"Needs work"}]}]`},
		{name: "in the rows a write returns", call: call{method: "PATCH", path: "/posts?id=eq.3&select=id,writer(name)", body: map[string]any{"rating": 3.5},
			header: map[string]string{"Prefer": "return=representation"}}, status: 200,
			body: `[{"id":3,"writer":{"name":"Grace"}}]`},
		{name: "a function returning scalars is no relationship", call: call{path: "/posts?select=id,post_comment_ids(*)"}, status: 400, code: "PGRST200"},
		{name: "the function of another relation is no relationship", call: call{path: "/authors?select=id,post_comments(*)"}, status: 400, code: "PGRST200"},
	})
}
