package realtime

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime/replication"
	"github.com/goforward/goforward/internal/security"
)

// checkService is a service without a replication reader, for calling the row checks
// directly on the request pool (login role authenticator), as the dispatcher does.
func checkService(t testing.TB, database *pgtest.Database) *Service {
	t.Helper()
	keys, err := security.NewKeys([]byte("check-secret-0123456789abcdef0123456789"), "", time.Unix(1_700_000_000, 0))
	require.NoError(t, err)
	svc, err := New(Config{PostgresChanges: PostgresChangesConfig{Disabled: true}},
		Deps{Keys: keys, Runner: db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})})
	require.NoError(t, err)
	return svc
}

// A transaction that does not become visible makes the check ask again until it gives up,
// and tells nobody; once it committed, the row is found.
func TestCheckRowsWaitsForTheCommit(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	ctx := t.Context()
	_, err := database.Pool.Exec(ctx, `CREATE TABLE public.never_rows (id int PRIMARY KEY);
		ALTER TABLE public.never_rows ENABLE ROW LEVEL SECURITY;
		CREATE POLICY everyone ON public.never_rows FOR SELECT TO anon USING (true);
		GRANT SELECT ON public.never_rows TO anon`)
	require.NoError(t, err)
	svc := checkService(t, database)
	// A transaction that holds an ID and stays open for the whole check.
	open, err := database.Pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = open.Rollback(context.Background()) })
	var xid, relid uint32
	require.NoError(t, open.QueryRow(ctx, `INSERT INTO public.never_rows VALUES (42) RETURNING xmin::text::bigint, 'public.never_rows'::regclass::oid`).Scan(&xid, &relid))

	change := neverRowsInsert(relid, xid)
	cands := []candidate{{auth: &channelAuth{principal: security.Principal{Role: "anon", Claims: []byte(`{"role":"anon"}`)}}}}
	_, err = svc.changes.authorize(ctx, change, "anon", cands)
	require.ErrorContains(t, err, fmt.Sprintf("transaction %d is not visible", xid))

	require.NoError(t, open.Commit(ctx))
	verdict, err := svc.changes.authorize(ctx, change, "anon", cands)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{`{"role":"anon"}`: true}, verdict.visible)
}

func neverRowsInsert(relid, xid uint32) *replication.Change {
	return &replication.Change{
		RelationID: relid, Schema: "public", Table: "never_rows", Type: replication.Insert, XID: xid,
		Columns: []replication.Column{{Name: "id", Type: "int4", TypeOID: 23, Category: "N", PrimaryKey: true}},
		New:     []replication.Value{{Text: "42", JSON: []byte("42")}},
	}
}

// The stream carries 32-bit transaction IDs; the commit check must place them in the right
// epoch, also right after the counter wrapped, which no test database gets near.
func TestCommittedPlacesTransactionIDsInTheirEpoch(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	const wrap = 1 << 32
	// In-progress transactions wrap+40 and wrap-6; the next ID is wrap+100.
	snapshot := fmt.Sprintf("%d:%d:%d,%d", wrap-6, wrap+100, wrap-6, wrap+40)
	for _, tt := range []struct {
		xid     uint32
		visible bool
	}{
		{xid: 30, visible: true},         // wrap+30, finished
		{xid: 40, visible: false},        // wrap+40, in progress
		{xid: 99, visible: true},         // wrap+99, finished
		{xid: 1<<32 - 6, visible: false}, // wrap-6, before the wrap, in progress
		{xid: 1<<32 - 10, visible: true}, // wrap-10, before the wrap, finished
		{xid: 1<<32 - 1, visible: true},  // wrap-1, the last ID before the wrap
		{xid: 100, visible: true},        // wrap-2^32+100, an epoch ago
	} {
		var visible bool
		require.NoError(t, database.Pool.QueryRow(t.Context(), `SELECT realtime.gf_transaction_visible($1, $2::pg_snapshot)`, int64(tt.xid), snapshot).Scan(&visible))
		require.Equal(t, tt.visible, visible, "transaction %d", tt.xid)
	}
}
