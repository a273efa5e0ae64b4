package realtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime/replication"
)

// A row check must fail cleanly, never index past its results, when a batch comes back short
// (seen under heavy load as zero results and no error) or with a failed statement.
func TestBatchCompleteRefusesShortOrFailedBatches(t *testing.T) {
	t.Parallel()
	ok := func() *pgconn.Result { return &pgconn.Result{} }
	require.NoError(t, batchComplete([]*pgconn.Result{ok(), ok(), ok()}, 3))
	require.ErrorContains(t, batchComplete(nil, 3), "returned 0 results, want 3")
	require.ErrorContains(t, batchComplete([]*pgconn.Result{ok()}, 3), "returned 1 results")
	failed := errors.New("permission denied for schema app")
	require.ErrorIs(t, batchComplete([]*pgconn.Result{ok(), {Err: failed}, ok()}, 3), failed)
}

// A transaction that does not become visible makes checkRows send its batch again and again
// until it gives up. Every attempt must get its full set of results: resending one
// pgconn.Batch appended a second Sync, and the leftover ReadyForQuery emptied the attempt
// after it.
func TestCheckRowsRetriesWithCompleteBatches(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	ctx := t.Context()
	_, err := database.Pool.Exec(ctx, `CREATE TABLE public.never_rows (id int PRIMARY KEY)`)
	require.NoError(t, err)
	// A transaction that holds an ID and stays open for the whole check.
	open, err := database.Pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = open.Rollback(context.Background()) })
	var xid uint32
	require.NoError(t, open.QueryRow(ctx, `INSERT INTO public.never_rows VALUES (42) RETURNING xmin::text::bigint`).Scan(&xid))

	change := neverRowsInsert(xid)
	visible := map[string]bool{}
	err = pgx.BeginFunc(ctx, database.Pool, func(tx pgx.Tx) error {
		return checkRows(ctx, tx, change, []string{`{"role":"anon"}`}, visible)
	})
	require.ErrorContains(t, err, fmt.Sprintf("transaction %d is not visible", xid))
	require.Empty(t, visible, "nobody is told about a change that could not be checked")

	// Once it committed, the row is found.
	require.NoError(t, open.Commit(ctx))
	err = pgx.BeginFunc(ctx, database.Pool, func(tx pgx.Tx) error {
		return checkRows(ctx, tx, change, []string{`{"role":"anon"}`}, visible)
	})
	require.NoError(t, err)
	require.Equal(t, map[string]bool{`{"role":"anon"}`: true}, visible)
}

func neverRowsInsert(xid uint32) *replication.Change {
	return &replication.Change{
		Schema: "public", Table: "never_rows", Type: replication.Insert, XID: xid,
		Columns: []replication.Column{{Name: "id", Type: "int4", TypeOID: 23, Category: "N", PrimaryKey: true}},
		New:     []replication.Value{{Text: "42", JSON: []byte("42")}},
	}
}

// The stream carries 32-bit transaction IDs; committedSQL must place them in the right
// epoch, also right after the counter wrapped, which no test database gets near.
func TestCommittedPlacesTransactionIDsInTheirEpoch(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	const wrap = 1 << 32
	// In-progress transactions wrap+40 and wrap-6; the next ID is wrap+100.
	snapshot := fmt.Sprintf("%d:%d:%d,%d", wrap-6, wrap+100, wrap-6, wrap+40)
	query := strings.Replace(committedSQL, "pg_current_snapshot()", "$2::pg_snapshot", 1)
	require.NotEqual(t, committedSQL, query)
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
		require.NoError(t, database.Pool.QueryRow(t.Context(), query, int64(tt.xid), snapshot).Scan(&visible))
		require.Equal(t, tt.visible, visible, "transaction %d", tt.xid)
	}
}
