package rest_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// columnKinds is a table of the original design's column kinds (migration 0012), writable by
// signed-in users.
const columnKinds = `
CREATE TABLE articles (
	id int PRIMARY KEY,
	body goforward.rich_text,
	cover goforward.file_reference,
	tags jsonb
);
GRANT ALL ON articles TO anon, authenticated, service_role;
INSERT INTO articles VALUES (1, '{"html": "<p>Hi</p>", "text": "Hi", "metadata": {"words": 1}}',
	'{"file_id": "f1", "url": "/storage/v1/object/public/c/a.png", "filename": "a.png", "size": 10, "mime_type": "image/png"}', '["a"]'),
	(6, '{"html": "", "text": ""}', NULL, NULL);
`

// TestColumnKinds: rich text and file reference columns travel as JSON, unchanged, both
// ways, can be filtered by their fields like any JSON, and their CHECK refuses a wrong shape
// with PostgreSQL's check violation.
func TestColumnKinds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, columnKinds)
	user := e.UserToken(t, userA, nil)
	rep := map[string]string{"Prefer": "return=representation"}
	body := map[string]any{"html": "<h1>Title</h1><p>x &amp; y</p>", "text": "Title\nx & y", "metadata": map[string]any{"lang": "en", "blocks": []any{1.0, "two"}}}
	cover := map[string]any{"file_id": "2b1f", "url": "/storage/v1/object/public/covers/b.jpg", "filename": "b.jpg", "size": 123456.0,
		"mime_type": "image/jpeg", "metadata": map[string]any{"alt": "a bridge"}}
	run(t, e, []scenario{
		{name: "read", call: call{path: "/articles?id=eq.1&select=body,cover"},
			status: 200, body: `[{"body":{"html":"<p>Hi</p>","text":"Hi","metadata":{"words":1}},
				"cover":{"file_id":"f1","url":"/storage/v1/object/public/c/a.png","filename":"a.png","size":10,"mime_type":"image/png"}}]`},
		{name: "json paths", call: call{path: "/articles?select=text:body->>text,size:cover->size&cover->>mime_type=eq.image/png"},
			status: 200, body: `[{"text":"Hi","size":10}]`},
		{name: "write and read back", call: call{method: "POST", path: "/articles?select=body,cover", token: user, header: rep,
			body: map[string]any{"id": 2, "body": body, "cover": cover}},
			status: 201, body: mustJSON(t, []any{map[string]any{"body": body, "cover": cover}})},
		{name: "update a field's value", call: call{method: "PATCH", path: "/articles?id=eq.6&select=body", token: user, header: rep,
			body: map[string]any{"body": map[string]any{"html": "<p>Bye</p>", "text": "Bye"}}},
			status: 200, body: `[{"body":{"html":"<p>Bye</p>","text":"Bye"}}]`},
		{name: "rich text without its text", call: call{method: "POST", path: "/articles", token: user,
			body: map[string]any{"id": 3, "body": map[string]any{"html": "<p/>"}}},
			status: 400, code: "23514"},
		{name: "file reference with a negative size", call: call{method: "POST", path: "/articles", token: user,
			body: map[string]any{"id": 4, "cover": map[string]any{"file_id": "x", "url": "", "filename": "", "size": -1, "mime_type": ""}}},
			status: 400, code: "23514"},
		{name: "a string is not rich text", call: call{method: "POST", path: "/articles", token: user,
			body: map[string]any{"id": 5, "body": "<p>Hi</p>"}},
			status: 400, code: "23514"},
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
