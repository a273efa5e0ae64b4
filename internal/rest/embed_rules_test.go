package rest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// selfReferences are tables whose foreign keys point at themselves: one key gives a
// many-to-one (the parent) and a one-to-many (the children) relationship to the same table.
const selfReferences = `
CREATE TABLE folders (id int PRIMARY KEY, name text, parent_id int CONSTRAINT folders_parent_fkey REFERENCES folders (id));
INSERT INTO folders VALUES (1, 'root', NULL), (2, 'docs', 1), (3, 'pics', 1), (4, 'old', 2);
CREATE TABLE tasks (id int PRIMARY KEY, name text,
	parent int CONSTRAINT tasks_parent_fkey REFERENCES tasks (id),
	main int CONSTRAINT tasks_main_fkey REFERENCES tasks (id));
INSERT INTO tasks VALUES (1, 'board', NULL, NULL), (2, 'task', 1, 1), (3, 'subtask', 2, 1);
`

func TestEmbeddingSelfReferences(t *testing.T) {
	t.Parallel()
	e := newEnv(t, selfReferences)
	run(t, e, []scenario{
		{name: "the table's name is the one-to-many (its children)", call: call{path: "/folders?select=name,folders(name)&id=eq.1&folders.order=id"}, status: 200,
			body: `[{"name":"root","folders":[{"name":"docs"},{"name":"pics"}]}]`},
		{name: "the column is the many-to-one (its parent)", call: call{path: "/folders?select=name,parent:parent_id(name)&id=eq.4"}, status: 200,
			body: `[{"name":"old","parent":{"name":"docs"}}]`},
		{name: "the referencing column as hint is the one-to-many", call: call{path: "/folders?select=name,folders!parent_id(name)&id=eq.2"}, status: 200,
			body: `[{"name":"docs","folders":[{"name":"old"}]}]`},
		{name: "the constraint as hint finds nothing, as in PostgREST", call: call{path: "/folders?select=name,folders!folders_parent_fkey(name)"}, status: 400,
			code: "PGRST200"},
		{name: "two keys: each column is one parent", call: call{path: "/tasks?select=name,p:parent(name),m:main(name)&id=eq.3"}, status: 200,
			body: `[{"name":"subtask","p":{"name":"task"},"m":{"name":"board"}}]`},
		{name: "two keys: the children by each key", call: call{path: "/tasks?select=name,children:tasks!parent(name),members:tasks!main(name)&id=eq.1&members.order=id"}, status: 200,
			body: `[{"name":"board","children":[{"name":"task"}],"members":[{"name":"task"},{"name":"subtask"}]}]`},
	})

	// Two keys to itself: the table's name is ambiguous, and the hint lists each key once.
	r := e.do(t, call{path: "/tasks?select=tasks(*)"})
	require.Equal(t, http.StatusMultipleChoices, r.Status, "%s", r.Body)
	var body map[string]any
	r.JSON(t, &body)
	require.Equal(t, "PGRST201", body["code"])
	require.Len(t, body["details"], 2)
	require.Equal(t, "Try changing 'tasks' to one of the following: 'tasks!tasks_main_fkey', 'tasks!tasks_parent_fkey'. Find the desired relationship in the 'details' key.", body["hint"])
}

// TestEmbeddingByConstraintName: a foreign key's name can stand for the target, both ways, as
// in PostgREST, though not to reach a view (whose keys belong to its base tables).
func TestEmbeddingByConstraintName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `CREATE VIEW published_posts AS SELECT id, title, author_id FROM posts WHERE published;`)
	run(t, e, []scenario{
		{name: "many-to-one", call: call{path: "/posts?select=id,writer:posts_author_id_fkey(name)&id=eq.3"}, status: 200,
			body: `[{"id":3,"writer":{"name":"Grace"}}]`},
		{name: "one-to-many", call: call{path: "/authors?select=name,reviewed:posts_reviewer_fk(id),written:posts_author_id_fkey(id)&id=eq.1&written.order=id"}, status: 200,
			body: `[{"name":"Ada","reviewed":[{"id":3}],"written":[{"id":1},{"id":2}]}]`},
		{name: "the name leads to the table, not to a view over it", call: call{path: "/authors?select=name,posts_author_id_fkey(id)&id=eq.1&posts_author_id_fkey.order=id"},
			status: 200, body: `[{"name":"Ada","posts_author_id_fkey":[{"id":1},{"id":2}]}]`},
		{name: "from a view to a table", call: call{path: "/published_posts?select=id,posts_author_id_fkey(name)&id=eq.4"}, status: 200,
			body: `[{"id":4,"posts_author_id_fkey":{"name":"Linus"}}]`},
	})
}

// TestEmbeddingTwiceUnderOneName: two embeds answering to one key are refused as PostgREST's
// statement is (PostgreSQL's 42712 for its repeated subquery alias), rather than sending an
// object with a duplicate key; aliases tell them apart.
func TestEmbeddingTwiceUnderOneName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, call{path: "/posts?select=authors!author_id(name),authors!posts_reviewer_fk(name)"})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	var body map[string]any
	r.JSON(t, &body)
	require.Equal(t, map[string]any{"code": "42712", "message": `table name "posts_authors_1" specified more than once`, "details": nil, "hint": nil}, body)

	r = e.do(t, call{path: "/authors?select=id,posts!author_id(id,comments(id),comments(text))"})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	r.JSON(t, &body)
	require.Equal(t, `table name "posts_comments_2" specified more than once`, body["message"])

	r = e.do(t, call{path: "/posts?select=id,a:authors!author_id(name),r:authors!posts_reviewer_fk(name)&id=eq.1"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, jsonText(t, `[{"id":1,"a":{"name":"Ada"},"r":{"name":"Grace"}}]`), jsonOf(t, r))
}
