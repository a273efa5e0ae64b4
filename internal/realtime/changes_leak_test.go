package realtime_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// secretsFixture is a table under RLS whose rows only their owner may read, streamed with
// REPLICA IDENTITY FULL as Supabase's documentation recommends for old records.
func secretsFixture(t *testing.T, n *node) {
	t.Helper()
	n.exec(t, `CREATE TABLE public.secrets (id int PRIMARY KEY, owner uuid, secret text)`)
	n.exec(t, `ALTER TABLE public.secrets ENABLE ROW LEVEL SECURITY`)
	n.exec(t, `CREATE POLICY own ON public.secrets FOR SELECT TO authenticated USING (owner = auth.uid())`)
	n.exec(t, `ALTER TABLE public.secrets REPLICA IDENTITY FULL`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.secrets`)
}

func sortedIDs(ids []uint32) []uint32 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// A subscriber cannot read a row hidden by RLS through the filters of its DELETE bindings:
// which of them matched the old row would say what the row held.
func TestDeleteUnderRLSDoesNotRevealWhichFiltersMatch(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	secretsFixture(t, n)
	n.exec(t, `INSERT INTO secrets VALUES (1, $1, 'hunter2')`, userA)

	attacker := dial(t, n)
	_, ids := attacker.subscribe("realtime:probe", n.env.UserToken(t, userB, nil),
		pgBinding("DELETE", "secrets", "secret=eq.hunter2"),
		pgBinding("DELETE", "secrets", "secret=like.h*"),
		pgBinding("DELETE", "secrets", "secret=like.x*"),
		pgBinding("DELETE", "secrets", ""))

	n.exec(t, `DELETE FROM secrets WHERE id = 1`)
	del := attacker.expectChange("realtime:probe", anyChange)
	require.Equal(t, "DELETE", del.Data.Type)
	require.Equal(t, map[string]any{"id": 1.0}, del.Data.OldRecord, "under RLS a delete carries only the key")
	require.Equal(t, sortedIDs(ids), sortedIDs(del.IDs),
		"filters on other columns than the key do not decide a delete under RLS, so every binding gets it")

	// A filter on the key is still applied: the key is sent to every subscriber anyway.
	byKey := dial(t, n)
	_, keyIDs := byKey.subscribe("realtime:bykey", n.env.UserToken(t, userB, nil),
		pgBinding("DELETE", "secrets", "id=eq.2"), pgBinding("DELETE", "secrets", "id=eq.3"))
	n.exec(t, `INSERT INTO secrets VALUES (2, $1, 'x'), (3, $1, 'y')`, userA)
	n.exec(t, `DELETE FROM secrets WHERE id = 2`)
	require.Equal(t, []uint32{keyIDs[0]}, byKey.expectChange("realtime:bykey", anyChange).IDs)

	// A role that RLS does not restrict still has its deletes filtered on the whole old row.
	service := dial(t, n, dialOptions{key: n.env.ServiceRoleKey()})
	_, serviceIDs := service.subscribe("realtime:svc", "",
		pgBinding("DELETE", "secrets", "secret=eq.y"), pgBinding("DELETE", "secrets", "secret=eq.z"))
	n.exec(t, `DELETE FROM secrets WHERE id = 3`)
	got := service.expectChange("realtime:svc", anyChange)
	require.Equal(t, []uint32{serviceIDs[0]}, got.IDs)
	require.Equal(t, "y", got.Data.OldRecord["secret"])
}

// An update that hands a row to the subscriber shows it the new row, never what the row held
// while the subscriber could not read it.
func TestUpdateUnderRLSCarriesOnlyTheKeyAsOldRecord(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	secretsFixture(t, n)
	n.exec(t, `INSERT INTO secrets VALUES (1, $1, 'hunter2')`, userA)

	attacker := dial(t, n)
	attacker.subscribe("realtime:transfer", n.env.UserToken(t, userB, nil), pgBinding("UPDATE", "secrets", ""))
	service := dial(t, n, dialOptions{key: n.env.ServiceRoleKey()})
	service.subscribe("realtime:transfer", "", pgBinding("UPDATE", "secrets", ""))

	n.exec(t, `UPDATE secrets SET owner = $1, secret = 'handed over' WHERE id = 1`, userB)
	got := attacker.expectChange("realtime:transfer", anyChange)
	require.Equal(t, map[string]any{"id": 1.0, "owner": userB, "secret": "handed over"}, got.Data.Record)
	require.Equal(t, map[string]any{"id": 1.0}, got.Data.OldRecord, "the old values were never the new owner's to read")

	full := service.expectChange("realtime:transfer", anyChange)
	require.Equal(t, map[string]any{"id": 1.0, "owner": userA, "secret": "hunter2"}, full.Data.OldRecord,
		"a role that RLS does not restrict gets the whole old row")
}

// Where RLS cannot be checked (no primary key, or no SELECT on it) the subscriber gets
// Supabase's error instead of the row, and filtered bindings get nothing: which of them
// matched would describe a row the subscriber may not read.
func TestUncheckableChangesSkipFilteredBindings(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.nokey (owner uuid, secret text)`)
	n.exec(t, `CREATE TABLE public.hiddenkey (id int PRIMARY KEY, owner uuid, secret text)`)
	n.exec(t, `REVOKE SELECT ON public.hiddenkey FROM authenticated`)
	n.exec(t, `GRANT SELECT (owner, secret) ON public.hiddenkey TO authenticated`)
	for _, table := range []string{"nokey", "hiddenkey"} {
		n.exec(t, `ALTER TABLE public.`+table+` ENABLE ROW LEVEL SECURITY`)
		n.exec(t, `CREATE POLICY own ON public.`+table+` FOR SELECT TO authenticated USING (owner = auth.uid())`)
		n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.`+table)
	}

	for _, tt := range []struct {
		table, insert, errorText string
	}{
		{"nokey", `INSERT INTO nokey VALUES ($1, 'hunter2')`, "Error 400: Bad Request, no primary key"},
		{"hiddenkey", `INSERT INTO hiddenkey VALUES (1, $1, 'hunter2')`, "Error 401: Unauthorized"},
	} {
		attacker := dial(t, n)
		topic := "realtime:" + tt.table
		_, ids := attacker.subscribe(topic, n.env.UserToken(t, userB, nil),
			pgBinding("INSERT", tt.table, "secret=eq.hunter2"),
			pgBinding("INSERT", tt.table, "secret=eq.other"),
			pgBinding("INSERT", tt.table, ""))
		n.exec(t, tt.insert, userA)
		got := attacker.expectChange(topic, anyChange)
		require.Equal(t, []string{tt.errorText}, got.Data.Errors, tt.table)
		require.Empty(t, got.Data.Record, tt.table)
		require.Equal(t, []uint32{ids[2]}, got.IDs, "%s: only the unfiltered binding hears of it", tt.table)
	}
}
