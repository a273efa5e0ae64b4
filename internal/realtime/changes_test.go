package realtime_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// changeMessage is a postgres_changes push.
type changeMessage struct {
	IDs  []uint32 `json:"ids"`
	Data struct {
		Schema          string              `json:"schema"`
		Table           string              `json:"table"`
		CommitTimestamp string              `json:"commit_timestamp"`
		Type            string              `json:"type"`
		Columns         []map[string]string `json:"columns"`
		Record          map[string]any      `json:"record"`
		OldRecord       map[string]any      `json:"old_record"`
		Errors          []string            `json:"errors"`
	} `json:"data"`
}

// pgBinding is one postgres_changes entry of a join config.
func pgBinding(event, table, filter string) map[string]any {
	b := map[string]any{"event": event, "schema": "public", "table": table}
	if filter != "" {
		b["filter"] = filter
	}
	return b
}

// subscribe joins topic with bindings as token and returns the join ref and the binding ids
// from the reply, after the "Subscribed to PostgreSQL" system message.
func (c *client) subscribe(topic, token string, bindings ...map[string]any) (string, []uint32) {
	c.t.Helper()
	joinRef, reply := c.join(topic, channelConfig{PostgresChanges: bindings}, token)
	require.Equal(c.t, "ok", reply.Status, string(reply.Response))
	var r struct {
		PostgresChanges []map[string]any `json:"postgres_changes"`
	}
	require.NoError(c.t, json.Unmarshal(reply.Response, &r))
	require.Len(c.t, r.PostgresChanges, len(bindings))
	ids := make([]uint32, len(bindings))
	for i, b := range r.PostgresChanges {
		for k, v := range bindings[i] {
			require.Equal(c.t, v, b[k], "the reply echoes binding %d", i)
		}
		ids[i] = uint32(b["id"].(float64))
	}
	sys := c.expectSystem(topic)
	require.Equal(c.t, systemMessage{Extension: "postgres_changes", Status: "ok", Message: "Subscribed to PostgreSQL", Channel: strings.TrimPrefix(topic, "realtime:")}, sys)
	return joinRef, ids
}

// expectChange waits for a postgres_changes message on topic matching pred.
func (c *client) expectChange(topic string, pred func(changeMessage) bool) changeMessage {
	c.t.Helper()
	var got changeMessage
	c.expect(func(m phoenix.Message) bool {
		if m.Topic != topic || m.Event != "postgres_changes" {
			return false
		}
		var cm changeMessage
		require.NoError(c.t, json.Unmarshal(m.Payload, &cm))
		if !pred(cm) {
			return false
		}
		got = cm
		return true
	})
	return got
}

func recordField(field string, want any) func(changeMessage) bool {
	return func(cm changeMessage) bool {
		r := cm.Data.Record
		if cm.Data.Type == "DELETE" {
			r = cm.Data.OldRecord
		}
		return r[field] == want
	}
}

func anyChange(changeMessage) bool { return true }

func TestChangesForEachEventType(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.todos (id bigint PRIMARY KEY, title text, done boolean DEFAULT false, tags int[], meta jsonb)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.todos`)
	n.exec(t, `ALTER TABLE public.todos REPLICA IDENTITY FULL`)

	c := dial(t, n)
	_, ids := c.subscribe("realtime:todos", "", pgBinding("*", "todos", ""))

	n.exec(t, `INSERT INTO todos (id, title, tags, meta) VALUES (1, 'write tests', '{1,2}', '{"p": 1}')`)
	insert := c.expectChange("realtime:todos", anyChange)
	require.Equal(t, ids, insert.IDs)
	require.Equal(t, "public", insert.Data.Schema)
	require.Equal(t, "todos", insert.Data.Table)
	require.Equal(t, "INSERT", insert.Data.Type)
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, insert.Data.CommitTimestamp)
	require.Equal(t, []map[string]string{
		{"name": "id", "type": "int8"}, {"name": "title", "type": "text"}, {"name": "done", "type": "bool"},
		{"name": "tags", "type": "_int4"}, {"name": "meta", "type": "jsonb"},
	}, insert.Data.Columns)
	require.Equal(t, map[string]any{"id": 1.0, "title": "write tests", "done": false, "tags": []any{1.0, 2.0}, "meta": map[string]any{"p": 1.0}}, insert.Data.Record)
	require.Nil(t, insert.Data.OldRecord)
	require.Nil(t, insert.Data.Errors)

	n.exec(t, `UPDATE todos SET done = true WHERE id = 1`)
	update := c.expectChange("realtime:todos", anyChange)
	require.Equal(t, "UPDATE", update.Data.Type)
	require.Equal(t, true, update.Data.Record["done"])
	require.Equal(t, false, update.Data.OldRecord["done"], "replica identity full sends the old row")

	n.exec(t, `DELETE FROM todos WHERE id = 1`)
	del := c.expectChange("realtime:todos", anyChange)
	require.Equal(t, "DELETE", del.Data.Type)
	require.Nil(t, del.Data.Record)
	require.Equal(t, "write tests", del.Data.OldRecord["title"])
}

func TestChangesByEvent(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.notes (id int PRIMARY KEY, body text)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.notes`)

	c := dial(t, n)
	_, ids := c.subscribe("realtime:notes", "",
		pgBinding("INSERT", "notes", ""), pgBinding("UPDATE", "notes", ""), pgBinding("DELETE", "notes", ""))
	n.exec(t, `INSERT INTO notes VALUES (1, 'a')`)
	n.exec(t, `UPDATE notes SET body = 'b' WHERE id = 1`)
	n.exec(t, `DELETE FROM notes WHERE id = 1`)
	for i, typ := range []string{"INSERT", "UPDATE", "DELETE"} {
		cm := c.expectChange("realtime:notes", anyChange)
		require.Equal(t, typ, cm.Data.Type)
		require.Equal(t, []uint32{ids[i]}, cm.IDs, "only the binding of that event matches")
	}
}

func TestChangesUpdateWithDefaultIdentityCarriesTheKeyAsOldRecord(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.notes (id int PRIMARY KEY, body text)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.notes`)
	c := dial(t, n)
	c.subscribe("realtime:notes", "", pgBinding("*", "notes", ""))
	n.exec(t, `INSERT INTO notes VALUES (1, 'a')`)
	n.exec(t, `UPDATE notes SET body = 'b' WHERE id = 1`)
	n.exec(t, `DELETE FROM notes WHERE id = 1`)
	c.expectChange("realtime:notes", anyChange)
	update := c.expectChange("realtime:notes", anyChange)
	require.Equal(t, map[string]any{"id": 1.0}, update.Data.OldRecord)
	del := c.expectChange("realtime:notes", anyChange)
	require.Equal(t, map[string]any{"id": 1.0}, del.Data.OldRecord)
}

func TestChangeFilters(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.scores (id int PRIMARY KEY, points int, player text, at timestamptz, uid uuid)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.scores`)

	filters := []string{
		"points=eq.5", "points=neq.5", "points=lt.5", "points=lte.5", "points=gt.5", "points=gte.5",
		"points=in.(1,9)", `player=eq."Ann, the first"`, "player=in.(bob,\"Ann, the first\")",
		"at=gte.2024-06-01T00:00:00Z", "uid=eq.A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
		"points=gt.1,points=lt.9", "player=like.B*",
	}
	bindings := make([]map[string]any, len(filters))
	for i, f := range filters {
		bindings[i] = pgBinding("INSERT", "scores", f)
	}
	c := dial(t, n)
	_, ids := c.subscribe("realtime:scores", "", bindings...)

	rows := []struct {
		sql  string
		want []string
	}{
		{`INSERT INTO scores VALUES (1, 1, 'bob', '2024-01-01T00:00:00Z', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`,
			[]string{"points=neq.5", "points=lt.5", "points=lte.5", "points=in.(1,9)", "player=in.(bob,\"Ann, the first\")",
				"uid=eq.A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"}},
		{`INSERT INTO scores VALUES (2, 5, 'Ann, the first', '2024-06-01T00:00:00Z', NULL)`,
			[]string{"points=eq.5", "points=lte.5", "points=gte.5", `player=eq."Ann, the first"`, "player=in.(bob,\"Ann, the first\")",
				"at=gte.2024-06-01T00:00:00Z", "points=gt.1,points=lt.9"}},
		{`INSERT INTO scores VALUES (3, 10, 'Bea', '2025-01-01T00:00:00Z', NULL)`,
			[]string{"points=neq.5", "points=gt.5", "points=gte.5", "at=gte.2024-06-01T00:00:00Z", "player=like.B*"}},
	}
	for _, row := range rows {
		n.exec(t, row.sql)
	}
	for i, row := range rows {
		cm := c.expectChange("realtime:scores", anyChange)
		require.Equal(t, float64(i+1), cm.Data.Record["id"])
		var want []uint32
		for j, f := range filters {
			if slices.Contains(row.want, f) {
				want = append(want, ids[j])
			}
		}
		got := append([]uint32(nil), cm.IDs...)
		slices.Sort(got)
		slices.Sort(want)
		require.Equal(t, slices.Compact(want), got, "row %d", i+1)
	}
}

func TestInvalidBindingsAreReported(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.things (id int PRIMARY KEY, n int)`)
	tests := []struct {
		binding map[string]any
		message string
	}{
		{pgBinding("*", "missing_table", ""), "Unable to subscribe to changes with given parameters"},
		{pgBinding("*", "things", "nope=eq.1"), "invalid column for filter nope"},
		{pgBinding("*", "things", "n=eq.notanumber"), `invalid input syntax for type int4: "notanumber"`},
		{pgBinding("*", "things", "n=between.1"), "Error parsing `filter` params"},
		{pgBinding("CREATE", "things", ""), `invalid event "CREATE"`},
		{pgBinding("*", "things", strings.Repeat("n=gt.1,", 16)+"n=gt.1"), "a filter may have at most 16 conditions"},
	}
	c := dial(t, n)
	for i, tt := range tests {
		topic := "realtime:bad" + string(rune('a'+i))
		_, reply := c.join(topic, channelConfig{PostgresChanges: []map[string]any{tt.binding}}, "")
		require.Equal(t, "ok", reply.Status, "Supabase still joins; the system message tells what is wrong")
		sys := c.expectSystem(topic)
		require.Equal(t, "postgres_changes", sys.Extension)
		require.Equal(t, "error", sys.Status)
		require.Contains(t, sys.Message, tt.message)
	}
}

func TestPostgresChangesTurnedOff(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	_, reply := c.join("realtime:x", channelConfig{PostgresChanges: []map[string]any{pgBinding("*", "t", "")}}, "")
	require.Equal(t, "ok", reply.Status)
	sys := c.expectSystem("realtime:x")
	require.Equal(t, "error", sys.Status)
	require.Contains(t, sys.Message, "turned off")
}

// rlsFixture is a table where each row belongs to a user, some rows are public, and anon
// may read only public rows.
func rlsFixture(t *testing.T, n *node) {
	t.Helper()
	n.exec(t, `CREATE TABLE public.posts (id int PRIMARY KEY, owner uuid, public boolean NOT NULL DEFAULT false, body text)`)
	n.exec(t, `ALTER TABLE public.posts ENABLE ROW LEVEL SECURITY`)
	n.exec(t, `CREATE POLICY own ON public.posts FOR SELECT TO authenticated USING (owner = auth.uid() OR public)`)
	n.exec(t, `CREATE POLICY open ON public.posts FOR SELECT TO anon USING (public)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.posts`)
}

const (
	userA = "00000000-0000-0000-0000-00000000000a"
	userB = "00000000-0000-0000-0000-00000000000b"
)

func TestChangesFollowRowLevelSecurity(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	rlsFixture(t, n)
	tokenA, tokenB := n.env.UserToken(t, userA, nil), n.env.UserToken(t, userB, nil)

	a, b, anon, service := dial(t, n), dial(t, n), dial(t, n), dial(t, n, dialOptions{key: n.env.ServiceRoleKey()})
	// Two channels of user B with the same token share one check.
	b2 := dial(t, n)
	for _, s := range []struct {
		c     *client
		token string
	}{{a, tokenA}, {b, tokenB}, {b2, tokenB}, {anon, ""}, {service, ""}} {
		s.c.subscribe("realtime:posts", s.token, pgBinding("*", "posts", ""))
	}

	n.exec(t, `INSERT INTO posts VALUES (1, $1, false, 'private to A')`, userA)
	n.exec(t, `INSERT INTO posts VALUES (2, $1, true, 'public from B')`, userB)

	require.Equal(t, "private to A", a.expectChange("realtime:posts", recordField("id", 1.0)).Data.Record["body"])
	require.Equal(t, "private to A", service.expectChange("realtime:posts", recordField("id", 1.0)).Data.Record["body"], "service_role bypasses RLS")
	for _, c := range []*client{b, b2, anon} {
		first := c.expectChange("realtime:posts", anyChange)
		require.Equal(t, 2.0, first.Data.Record["id"], "user B and anon never see A's private row")
	}
	a.expectChange("realtime:posts", recordField("id", 2.0))

	// A delete cannot be checked (the row is gone): under RLS only its key is sent.
	n.exec(t, `DELETE FROM posts WHERE id = 1`)
	del := b.expectChange("realtime:posts", func(cm changeMessage) bool { return cm.Data.Type == "DELETE" })
	require.Equal(t, map[string]any{"id": 1.0}, del.Data.OldRecord)
	for _, c := range []*client{a, b2, anon, service} {
		c.expectChange("realtime:posts", func(cm changeMessage) bool { return cm.Data.Type == "DELETE" })
	}
	// Each insert was checked once per distinct claims under RLS: A, B (whose two channels
	// share one check) and anon; service_role bypasses RLS and the delete needs no check.
	require.Equal(t, 6.0, counter(t, n, rowChecksMetric))

	// A table without row-level security needs no row check at all.
	n.exec(t, `CREATE TABLE public.notes (id int PRIMARY KEY, body text)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.notes`)
	for _, s := range []struct {
		c     *client
		token string
	}{{a, tokenA}, {b, tokenB}, {anon, ""}} {
		s.c.subscribe("realtime:notes", s.token, pgBinding("INSERT", "notes", ""))
	}
	n.exec(t, `INSERT INTO notes VALUES (1, 'open to all')`)
	for _, c := range []*client{a, b, anon} {
		require.Equal(t, "open to all", c.expectChange("realtime:notes", anyChange).Data.Record["body"])
	}
	require.Equal(t, 6.0, counter(t, n, rowChecksMetric))
}

// rowChecksMetric counts row-level security checks of changed rows.
const rowChecksMetric = "goforward_realtime_authorization_checks_total"

func TestChannelFailsWhenAuthorizingAChangeFails(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE SCHEMA app`)
	n.exec(t, `GRANT USAGE ON SCHEMA app TO anon`)
	n.exec(t, `CREATE TABLE app.items (id int PRIMARY KEY, body text)`)
	n.exec(t, `GRANT SELECT ON app.items TO anon`)
	n.exec(t, `ALTER TABLE app.items ENABLE ROW LEVEL SECURITY`)
	n.exec(t, `CREATE POLICY everyone ON app.items FOR SELECT TO anon USING (true)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE app.items`)
	items := map[string]any{"event": "INSERT", "schema": "app", "table": "items"}

	c := dial(t, n)
	joinRef, _ := c.subscribe("realtime:items", "", items)
	n.exec(t, `INSERT INTO app.items VALUES (1, 'checked')`)
	require.Equal(t, 1.0, c.expectChange("realtime:items", anyChange).Data.Record["id"])

	// Losing the schema makes the row check of the next change fail in the database.
	n.exec(t, `REVOKE USAGE ON SCHEMA app FROM anon`)
	n.exec(t, `INSERT INTO app.items VALUES (2, 'unverifiable')`)
	failed := c.expect(event("realtime:items", "phx_error"))
	require.Equal(t, joinRef, failed.JoinRef, "realtime-js only acts on phx_error of its current join")
	require.Equal(t, joinRef, failed.Ref)

	// The server dropped the channel: the client's rejoin replaces nothing (no phx_close for
	// the failed join) and, once the schema is back, gets changes again.
	n.exec(t, `GRANT USAGE ON SCHEMA app TO anon`)
	newRef, _ := c.subscribe("realtime:items", "", items)
	require.NotEqual(t, joinRef, newRef)
	heartbeat := c.send("", "phoenix", "heartbeat", map[string]any{})
	closedOld := func(m phoenix.Message) bool { return m.Event == "phx_close" && m.JoinRef == joinRef }
	require.False(t, c.seenBefore(closedOld, func(m phoenix.Message) bool { return m.Event == "phx_reply" && m.Ref == heartbeat }))
	n.exec(t, `INSERT INTO app.items VALUES (3, 'after rejoin')`)
	require.Equal(t, 3.0, c.expectChange("realtime:items", anyChange).Data.Record["id"])
}

func TestColumnPrivilegesShapeTheRecord(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.people (id int PRIMARY KEY, name text, salary int)`)
	n.exec(t, `REVOKE SELECT ON public.people FROM anon`)
	n.exec(t, `GRANT SELECT (id, name) ON public.people TO anon`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.people`)

	anon, user := dial(t, n), dial(t, n)
	anon.subscribe("realtime:people", "", pgBinding("INSERT", "people", ""))
	user.subscribe("realtime:people", n.env.UserToken(t, userA, nil), pgBinding("INSERT", "people", ""))
	n.exec(t, `INSERT INTO people VALUES (1, 'Ada', 100)`)

	got := anon.expectChange("realtime:people", anyChange)
	require.Equal(t, map[string]any{"id": 1.0, "name": "Ada"}, got.Data.Record)
	require.Equal(t, []map[string]string{{"name": "id", "type": "int4"}, {"name": "name", "type": "text"}}, got.Data.Columns)
	require.Equal(t, map[string]any{"id": 1.0, "name": "Ada", "salary": 100.0}, user.expectChange("realtime:people", anyChange).Data.Record)
}

func TestFilterOnAnUnreadableColumnIsRejected(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.people (id int PRIMARY KEY, salary int)`)
	n.exec(t, `REVOKE SELECT ON public.people FROM anon`)
	n.exec(t, `GRANT SELECT (id) ON public.people TO anon`)
	c := dial(t, n)
	_, reply := c.join("realtime:p", channelConfig{PostgresChanges: []map[string]any{pgBinding("*", "people", "salary=gt.10")}}, "")
	require.Equal(t, "ok", reply.Status)
	sys := c.expectSystem("realtime:p")
	require.Equal(t, "error", sys.Status)
	require.Contains(t, sys.Message, "invalid column for filter salary")
}

func TestChangeErrorsLikeSupabase(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true, cfg: realtime.Config{PostgresChanges: realtime.PostgresChangesConfig{MaxRecordBytes: 200}}})
	n.exec(t, `CREATE TABLE public.nokey (n int)`)
	n.exec(t, `CREATE TABLE public.hidden_key (id int PRIMARY KEY, label text)`)
	n.exec(t, `REVOKE SELECT ON public.hidden_key FROM anon`)
	n.exec(t, `GRANT SELECT (label) ON public.hidden_key TO anon`)
	n.exec(t, `CREATE TABLE public.big (id int PRIMARY KEY, small text, large text)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.nokey, public.hidden_key, public.big`)

	c := dial(t, n)
	c.subscribe("realtime:errs", "", pgBinding("INSERT", "nokey", ""), pgBinding("INSERT", "hidden_key", ""), pgBinding("INSERT", "big", ""))
	n.exec(t, `INSERT INTO nokey VALUES (1)`)
	n.exec(t, `INSERT INTO hidden_key VALUES (1, 'x')`)
	n.exec(t, `INSERT INTO big VALUES (1, 'tiny', $1)`, strings.Repeat("y", 500))

	noKey := c.expectChange("realtime:errs", func(cm changeMessage) bool { return cm.Data.Table == "nokey" })
	require.Equal(t, []string{"Error 400: Bad Request, no primary key"}, noKey.Data.Errors)
	require.Empty(t, noKey.Data.Record)

	hidden := c.expectChange("realtime:errs", func(cm changeMessage) bool { return cm.Data.Table == "hidden_key" })
	require.Equal(t, []string{"Error 401: Unauthorized"}, hidden.Data.Errors)
	require.Empty(t, hidden.Data.Record)

	big := c.expectChange("realtime:errs", func(cm changeMessage) bool { return cm.Data.Table == "big" })
	require.Equal(t, []string{"Error 413: Payload Too Large"}, big.Data.Errors)
	require.Equal(t, map[string]any{"id": 1.0, "small": "tiny"}, big.Data.Record, "only values of at most 64 bytes are kept")
}

func TestAccessTokenChangesWhatAChannelSees(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	rlsFixture(t, n)
	c := dial(t, n)
	joinRef, _ := c.subscribe("realtime:posts", "", pgBinding("INSERT", "posts", ""))

	n.exec(t, `INSERT INTO posts VALUES (1, $1, false, 'before sign-in')`, userA)
	n.exec(t, `INSERT INTO posts VALUES (2, NULL, true, 'marker')`)
	require.Equal(t, 2.0, c.expectChange("realtime:posts", anyChange).Data.Record["id"], "anon does not see A's row")

	// Signing in: realtime-js pushes the new token on every joined channel.
	c.send(joinRef, "realtime:posts", "access_token", map[string]any{"access_token": n.env.UserToken(t, userA, nil)})
	ref := c.send("", "phoenix", "heartbeat", map[string]any{})
	c.awaitReply("phoenix", ref)
	n.exec(t, `INSERT INTO posts VALUES (3, $1, false, 'after sign-in')`, userA)
	require.Equal(t, 3.0, c.expectChange("realtime:posts", anyChange).Data.Record["id"])
}
