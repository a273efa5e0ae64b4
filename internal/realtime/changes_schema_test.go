package realtime_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// A schema of the application's own, readable by signed-in users only: service_role has
// neither USAGE on it nor SELECT on its table. Row-level security alone decides who gets a
// change; the check must not depend on what service_role may read.
func TestChangesInASchemaServiceRoleCannotRead(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE SCHEMA crm`)
	n.exec(t, `GRANT USAGE ON SCHEMA crm TO authenticated`)
	n.exec(t, `CREATE TABLE crm.leads (id int PRIMARY KEY, owner uuid NOT NULL, name text)`)
	n.exec(t, `GRANT SELECT ON crm.leads TO authenticated`)
	n.exec(t, `ALTER TABLE crm.leads ENABLE ROW LEVEL SECURITY`)
	n.exec(t, `CREATE POLICY own ON crm.leads FOR SELECT TO authenticated USING (owner = auth.uid())`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE crm.leads`)
	var serviceUsage, serviceSelect bool
	require.NoError(t, n.env.DB.Pool.QueryRow(context.Background(), `SELECT
		has_schema_privilege('service_role', 'crm', 'USAGE'), has_table_privilege('service_role', 'crm.leads', 'SELECT')`).
		Scan(&serviceUsage, &serviceSelect))
	require.False(t, serviceUsage || serviceSelect, "the fixture keeps service_role out of the schema")

	const topic = "realtime:leads"
	c := dial(t, n)
	c.subscribe(topic, n.env.UserToken(t, userA, nil), map[string]any{"event": "INSERT", "schema": "crm", "table": "leads"})
	n.exec(t, `INSERT INTO crm.leads VALUES (1, $1, 'B''s lead')`, userB)
	n.exec(t, `INSERT INTO crm.leads VALUES (2, $1, 'A''s lead')`, userA)

	// Changes arrive in commit order: the first change or error the channel gets must be
	// user A's row, so B's row was withheld and its check failed nothing.
	first := c.expect(func(m phoenix.Message) bool {
		return m.Topic == topic && (m.Event == "postgres_changes" || m.Event == "phx_error")
	})
	require.Equal(t, "postgres_changes", first.Event, "authorizing the change must not fail the channel")
	var got changeMessage
	require.NoError(t, json.Unmarshal(first.Payload, &got))
	require.Equal(t, map[string]any{"id": 2.0, "owner": userA, "name": "A's lead"}, got.Data.Record)

	heartbeat := c.send("", "phoenix", "heartbeat", map[string]any{})
	require.False(t, c.seenBefore(event(topic, "phx_error"), func(m phoenix.Message) bool { return m.Event == "phx_reply" && m.Ref == heartbeat }),
		"no channel error was sent")
	require.Equal(t, 2.0, counter(t, n, rowChecksMetric), "each insert was checked under user A's claims")
}
