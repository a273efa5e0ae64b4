package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
)

// blockingLock is the advisory lock the test holds so that a request's statement waits.
const blockingLock = 7340

// TestRunnerKeepsTheConnectionWhenTheContextEnds checks that a request whose context ends
// while its statement runs (a client that went away) gets its statement cancelled on the
// server and leaves its pooled connection open, on every path of the RoleRunner, and that
// the error says the context ended.
func TestRunnerKeepsTheConnectionWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	database.RequestPool(t) // sets the authenticator's password
	dsn, err := db.WithCredentials(database.URL, "authenticator", pgtest.AuthenticatorPassword)
	require.NoError(t, err)
	pool, err := db.Open(t.Context(), dsn, db.PoolConfig{MaxConns: 1})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	runner := db.NewRoleRunner(pool, db.RunnerConfig{})
	anon := db.RequestScope{Role: db.RoleAnon}

	backend := func() uint32 {
		var pid uint32
		err := runner.RunInRole(t.Context(), anon, db.PipelineOptions{ReadOnly: true},
			[]db.Statement{{SQL: `SELECT pg_backend_pid()`}}, func(_ int, rows pgx.Rows) error {
				rows.Next()
				return rows.Scan(&pid)
			})
		require.NoError(t, err)
		return pid
	}
	wait := `SELECT pg_advisory_xact_lock_shared(7340)`
	paths := map[string]func(ctx context.Context) error{
		"InRole": func(ctx context.Context) error {
			return runner.InRole(ctx, anon, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, wait)
				return err
			})
		},
		"InTx": func(ctx context.Context) error {
			return db.InTx(ctx, pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, wait)
				return err
			})
		},
		"RunInRole": func(ctx context.Context) error {
			return runner.RunInRole(ctx, anon, db.PipelineOptions{ReadOnly: true},
				[]db.Statement{{SQL: wait}}, func(int, pgx.Rows) error { return nil })
		},
		"RunInRole with Confirm": func(ctx context.Context) error {
			return runner.RunInRole(ctx, anon, db.PipelineOptions{Confirm: true},
				[]db.Statement{{SQL: wait}}, func(int, pgx.Rows) error { return nil })
		},
	}

	pid := backend()
	holdLock(t, database.Pool)
	for name, run := range paths {
		for range 3 {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- run(ctx) }()
			waitUntilBlocked(t, database.Pool, pid)
			cancel()
			err := <-done
			require.ErrorIs(t, err, context.Canceled, "%s: %v", name, err)
			require.Equal(t, "57014", sqlState(t, err), "%s: the statement was cancelled on the server", name)
			require.Equal(t, pid, backend(), "%s: the pooled connection was kept", name)
		}
	}
}

// holdLock takes blockingLock on a connection of pool until the test ends.
func holdLock(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	conn, err := pool.Acquire(t.Context())
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), `SELECT pg_advisory_lock(7340)`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock_all()`)
		conn.Release()
	})
}

// waitUntilBlocked polls until backend pid waits for blockingLock.
func waitUntilBlocked(t *testing.T, pool *pgxpool.Pool, pid uint32) {
	t.Helper()
	require.Eventually(t, func() bool {
		var waiting bool
		err := pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE pid = $1 AND locktype = 'advisory' AND objid = $2 AND NOT granted)`, pid, blockingLock).Scan(&waiting)
		return err == nil && waiting
	}, 30*time.Second, 5*time.Millisecond)
}
