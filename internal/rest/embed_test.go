package rest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEmbedding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	run(t, e, []scenario{
		{name: "many-to-one by hint", call: call{path: "/posts?select=id,authors!author_id(name)&id=lt.3&order=id"}, status: 200,
			body: `[{"id":1,"authors":{"name":"Ada"}},{"id":2,"authors":{"name":"Ada"}}]`},
		{name: "many-to-one by foreign key column", call: call{path: "/posts?select=id,author_id(name)&id=eq.3"}, status: 200,
			body: `[{"id":3,"author_id":{"name":"Grace"}}]`},
		{name: "many-to-one by constraint name with alias", call: call{path: "/posts?select=id,reviewer:authors!posts_reviewer_fk(name)&order=id"}, status: 200,
			body: `[{"id":1,"reviewer":{"name":"Grace"}},{"id":2,"reviewer":null},{"id":3,"reviewer":{"name":"Ada"}},{"id":4,"reviewer":null}]`},
		{name: "ambiguous embed", call: call{path: "/posts?select=id,authors(name)"}, status: 300, code: "PGRST201"},
		{name: "no relationship", call: call{path: "/posts?select=id,labels_nope(*)"}, status: 400, code: "PGRST200"},
		{name: "one-to-many", call: call{path: "/posts?select=id,comments(text)&id=in.(1,2)&order=id&comments.order=text.desc"}, status: 200,
			body: `[{"id":1,"comments":[{"text":"Visionary"},{"text":"Brilliant"}]},{"id":2,"comments":[]}]`},
		{name: "one-to-one", call: call{path: "/authors?select=name,profiles(website)&order=id&limit=2"}, status: 200,
			body: `[{"name":"Ada","profiles":{"website":"https://ada.example"}},{"name":"Grace","profiles":null}]`},
		{name: "many-to-many through the junction", call: call{path: "/posts?select=id,labels(label)&order=id&labels.order=id"}, status: 200,
			body: `[{"id":1,"labels":[{"label":"classic"},{"label":"popular"}]},{"id":2,"labels":[{"label":"classic"}]},{"id":3,"labels":[{"label":"draft"}]},{"id":4,"labels":[]}]`},
		{name: "many-to-many by junction hint", call: call{path: "/labels?select=label,posts!post_labels(id)&id=eq.2"}, status: 200,
			body: `[{"label":"draft","posts":[{"id":3}]}]`},
		{name: "nested embeds", call: call{path: "/authors?select=name,posts!author_id(title,comments(text))&id=eq.1&posts.order=id&posts.comments.order=text"}, status: 200,
			body: `[{"name":"Ada","posts":[{"title":"Notes on the Engine","comments":[{"text":"Brilliant"},{"text":"Visionary"}]},{"title":"Bernoulli numbers","comments":[]}]}]`},
		{name: "filter on an embed filters only the embed", call: call{path: "/authors?select=id,posts!author_id(id)&posts.published=is.false&order=id"}, status: 200,
			body: `[{"id":1,"posts":[]},{"id":2,"posts":[{"id":3}]},{"id":3,"posts":[]}]`},
		{name: "inner embed filters the parent", call: call{path: "/authors?select=id,posts!author_id!inner(id)&posts.published=is.false"}, status: 200,
			body: `[{"id":2,"posts":[{"id":3}]}]`},
		{name: "inner many-to-one with count", call: call{path: "/posts?select=id,authors!author_id!inner(name)&authors.name=eq.Ada&order=id",
			header: map[string]string{"Prefer": "count=exact"}}, status: 200,
			body: `[{"id":1,"authors":{"name":"Ada"}},{"id":2,"authors":{"name":"Ada"}}]`, headers: map[string]string{"Content-Range": "0-1/2"}},
		{name: "left join hint", call: call{path: "/posts?select=id,authors!posts_reviewer_fk!left(name)&id=eq.2"}, status: 200,
			body: `[{"id":2,"authors":null}]`},
		{name: "limit and offset on an embed", call: call{path: "/authors?select=id,posts!author_id(id)&id=eq.1&posts.order=id.desc&posts.limit=1&posts.offset=1"}, status: 200,
			body: `[{"id":1,"posts":[{"id":1}]}]`},
		{name: "or on an embed", call: call{path: "/authors?select=id,posts!author_id(id)&id=eq.1&posts.or=(id.eq.2,id.eq.9)"}, status: 200,
			body: `[{"id":1,"posts":[{"id":2}]}]`},
		{name: "embed null filter", call: call{path: "/posts?select=id,reviewer:authors!posts_reviewer_fk()&reviewer=is.null&order=id"}, status: 200,
			body: `[{"id":2},{"id":4}]`},
		{name: "embed not null filter", call: call{path: "/posts?select=id,reviewer:authors!posts_reviewer_fk(id)&reviewer=not.is.null&order=id"}, status: 200,
			body: `[{"id":1,"reviewer":{"id":2}},{"id":3,"reviewer":{"id":1}}]`},
		{name: "embed with a bad operator", call: call{path: "/posts?select=id,reviewer:authors!posts_reviewer_fk(id)&reviewer=eq.1"}, status: 400,
			code: "PGRST120"},
		{name: "spread", call: call{path: "/posts?select=id,...authors!author_id(author:name)&id=eq.3"}, status: 200,
			body: `[{"id":3,"author":"Grace"}]`},
		{name: "order by a to-one embed", call: call{path: "/posts?select=id,authors!author_id(name)&order=authors(name).desc,id&published=is.true"}, status: 200,
			body: `[{"id":4,"authors":{"name":"Linus"}},{"id":1,"authors":{"name":"Ada"}},{"id":2,"authors":{"name":"Ada"}}]`},
		{name: "order by a to-many embed", call: call{path: "/authors?select=id,posts!author_id(id)&order=posts(id)"}, status: 400, code: "PGRST118"},
		{name: "filter on a resource that is not embedded", call: call{path: "/posts?select=id&comments.text=eq.x"}, status: 400, code: "PGRST108"},
		{name: "embed star", call: call{path: "/posts?select=id,comments(*)&id=eq.3"}, status: 200,
			body: `[{"id":3,"comments":[{"id":3,"post_id":3,"text":"Needs work","created_at":"2024-01-01T00:00:00+00:00"}]}]`},
		{name: "json path inside an embed", call: call{path: "/posts?select=id,authors!author_id(lang:meta->>lang)&id=eq.4"}, status: 200,
			body: `[{"id":4,"authors":{"lang":"fi"}}]`},
	})
}

// TestUndefinedColumnMessages: PostgREST leaves unknown columns to PostgreSQL, whose message
// names the table as PostgREST's statement aliases it: the table itself at the top, and
// <table>_<depth> inside embeds.
func TestUndefinedColumnMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for path, message := range map[string]string{
		"/posts?select=nope":                                         "column posts.nope does not exist",
		"/authors?select=posts!author_id(nope)":                      "column posts_1.nope does not exist",
		"/authors?select=posts!author_id(comments(nope))":            "column comments_2.nope does not exist",
		"/authors?select=id,posts!author_id(id)&posts.nope=eq.1":     "column posts_1.nope does not exist",
		"/posts?select=id,authors!author_id(id)&order=authors(nope)": "column posts_authors_1.nope does not exist",
	} {
		r := e.do(t, call{path: path})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", path, r.Body)
		var body map[string]any
		r.JSON(t, &body)
		require.Equal(t, map[string]any{"code": "42703", "message": message, "details": nil, "hint": nil}, body, path)
	}
}

// viewFixture puts views over the fixture's tables: PostgREST infers a view's relationships
// from the foreign keys of the tables its columns come from, through views over views and
// across schemas.
const viewFixture = `
CREATE VIEW published_posts AS SELECT id, title, author_id FROM posts WHERE published;
CREATE VIEW recent_titles AS SELECT p.id AS post, p.title AS "the title" FROM published_posts p;
CREATE FUNCTION published_by(author int) RETURNS SETOF published_posts LANGUAGE sql STABLE
	AS 'SELECT * FROM published_posts WHERE author_id = author';
CREATE VIEW odd_names AS SELECT id AS ":resorigtbl", author_id AS "a (b) {c}" FROM posts;

CREATE SCHEMA private;
CREATE TABLE private.shelves (id int PRIMARY KEY, name text);
CREATE TABLE private.items (id int PRIMARY KEY, shelf_id int REFERENCES private.shelves (id), label text);
INSERT INTO private.shelves VALUES (1, 'top'), (2, 'bottom');
INSERT INTO private.items VALUES (1, 1, 'cup'), (2, 1, 'plate'), (3, 2, 'pan');
CREATE VIEW other.shelves AS SELECT id, name FROM private.shelves;
CREATE VIEW other.items AS SELECT id, label, shelf_id FROM private.items;
GRANT SELECT ON other.shelves, other.items TO anon;
`

func TestEmbeddingThroughViews(t *testing.T) {
	t.Parallel()
	e := newEnv(t, viewFixture)
	other := map[string]string{"Accept-Profile": "other"}
	run(t, e, []scenario{
		{name: "view to table", call: call{path: "/published_posts?select=title,authors(name)&order=id"}, status: 200,
			body: `[{"title":"Notes on the Engine","authors":{"name":"Ada"}},{"title":"Bernoulli numbers","authors":{"name":"Ada"}},{"title":"Kernel release","authors":{"name":"Linus"}}]`},
		{name: "table to view", call: call{path: "/authors?select=name,published_posts(title)&id=eq.1&published_posts.order=id"}, status: 200,
			body: `[{"name":"Ada","published_posts":[{"title":"Notes on the Engine"},{"title":"Bernoulli numbers"}]}]`},
		{name: "function returning a view's rows", call: call{path: "/rpc/published_by?author=1&select=title,authors(name)&order=id"}, status: 200,
			body: `[{"title":"Notes on the Engine","authors":{"name":"Ada"}},{"title":"Bernoulli numbers","authors":{"name":"Ada"}}]`},
		{name: "view over a view, renamed column", call: call{path: "/recent_titles?select=post,comments(text)&post=eq.1&comments.order=text"}, status: 200,
			body: `[{"post":1,"comments":[{"text":"Brilliant"},{"text":"Visionary"}]}]`},
		{name: "many-to-many from a view", call: call{path: "/published_posts?select=id,labels(label)&id=eq.1&labels.order=id"}, status: 200,
			body: `[{"id":1,"labels":[{"label":"classic"},{"label":"popular"}]}]`},
		{name: "columns with node tree characters in their names", call: call{path: `/odd_names?select=":resorigtbl",authors(name)&":resorigtbl"=eq.3`}, status: 200,
			body: `[{":resorigtbl":3,"authors":{"name":"Grace"}}]`},
		{name: "views over tables of a schema that is not exposed", call: call{path: "/items?select=label,shelves(name)&order=id", header: other}, status: 200,
			body: `[{"label":"cup","shelves":{"name":"top"}},{"label":"plate","shelves":{"name":"top"}},{"label":"pan","shelves":{"name":"bottom"}}]`},
		{name: "and back", call: call{path: "/shelves?select=name,items(label)&id=eq.2", header: other}, status: 200,
			body: `[{"name":"bottom","items":[{"label":"pan"}]}]`},
		{name: "a view without the key's columns has no relationship", call: call{path: "/recent_titles?select=post,authors(name)"}, status: 400,
			code: "PGRST200"},
	})
}
