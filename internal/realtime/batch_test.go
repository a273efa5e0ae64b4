package realtime

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
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

// A row that never becomes visible makes checkRows send its batch again and again until it
// gives up. Every attempt must get its full set of results: resending one pgconn.Batch
// appended a second Sync, and the leftover ReadyForQuery emptied the attempt after it.
func TestCheckRowsRetriesWithCompleteBatches(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	ctx := t.Context()
	_, err := database.Pool.Exec(ctx, `CREATE TABLE public.never_rows (id int PRIMARY KEY)`)
	require.NoError(t, err)
	change := &replication.Change{
		Schema: "public", Table: "never_rows", Type: replication.Insert,
		Columns: []replication.Column{{Name: "id", Type: "int4", TypeOID: 23, Category: "N", PrimaryKey: true}},
		New:     []replication.Value{{Text: "42", JSON: []byte("42")}},
	}
	visible := map[string]bool{}
	err = pgx.BeginFunc(ctx, database.Pool, func(tx pgx.Tx) error {
		return checkRows(ctx, tx, change, db.RoleAnon, []string{`{"role":"anon"}`}, visible)
	})
	require.NoError(t, err)
	require.Empty(t, visible, "a row that never showed up is visible to nobody")
}
