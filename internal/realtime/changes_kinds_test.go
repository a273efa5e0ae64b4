package realtime_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// The column kinds of migration 0012 are JSONB domains; the replication stream names a
// column by its domain, and a change must still carry the value as JSON, unchanged, as
// to_jsonb would (and as REST does).
func TestChangesCarryColumnKindsAsJSON(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.articles (id int PRIMARY KEY, body goforward.rich_text, cover goforward.file_reference)`)
	n.exec(t, `GRANT SELECT ON public.articles TO authenticated`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.articles`)

	const topic = "realtime:articles"
	c := dial(t, n)
	c.subscribe(topic, n.env.UserToken(t, userA, nil), map[string]any{"event": "INSERT", "schema": "public", "table": "articles"})
	n.exec(t, `INSERT INTO public.articles VALUES (1, '{"html": "<p>Hi</p>", "text": "Hi", "metadata": {"n": [1]}}',
		'{"file_id": "f1", "url": "/x.png", "filename": "x.png", "size": 7, "mime_type": "image/png"}')`)

	m := c.expect(func(m phoenix.Message) bool { return m.Topic == topic && m.Event == "postgres_changes" })
	var got changeMessage
	require.NoError(t, json.Unmarshal(m.Payload, &got))
	require.Equal(t, map[string]any{
		"id":    1.0,
		"body":  map[string]any{"html": "<p>Hi</p>", "text": "Hi", "metadata": map[string]any{"n": []any{1.0}}},
		"cover": map[string]any{"file_id": "f1", "url": "/x.png", "filename": "x.png", "size": 7.0, "mime_type": "image/png"},
	}, got.Data.Record)
}
