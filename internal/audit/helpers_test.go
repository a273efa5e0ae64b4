package audit_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is one test's database and data directory.
type env struct {
	t    *testing.T
	pool *pgxpool.Pool
	dir  string // audit.Dir of a data directory of the test's own
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{t: t, pool: pgtest.NewDatabase(t).Pool, dir: audit.Dir(t.TempDir())}
}

// sealer returns a sealer of the test's database with the test's data directory.
func (e *env) sealer(cfg audit.SealerConfig) *audit.Sealer {
	if cfg.Dir == "" {
		cfg.Dir = e.dir
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	return audit.NewSealer(e.pool, cfg)
}

// write records n entries, each in its own transaction; entry i is shaped by shape.
func (e *env) write(n int, shape func(i int, en *audit.Entry)) {
	e.t.Helper()
	for i := range n {
		en := audit.Entry{Actor: audit.Actor{Type: audit.ActorAdmin, ID: fmt.Sprintf("admin-%d", i%3), Email: "a@example.com"},
			Action: "admin.test", ResourceType: "thing", ResourceID: fmt.Sprint(i), Details: map[string]any{"i": i, "note": "x"}}
		if shape != nil {
			shape(i, &en)
		}
		require.NoError(e.t, audit.Record(context.Background(), e.pool, en))
	}
}

// seal seals everything written so far.
func (e *env) seal() int {
	e.t.Helper()
	n, err := e.sealer(audit.SealerConfig{}).Seal(context.Background())
	require.NoError(e.t, err)
	return n
}

// verify runs Verify against the test's data directory.
func (e *env) verify() audit.Report {
	e.t.Helper()
	r, err := audit.Verify(context.Background(), e.pool, e.dir)
	require.NoError(e.t, err)
	return r
}

// awaitSealed polls until no entry follows the chain's last link, failing after limit.
func (e *env) awaitSealed(limit time.Duration, why string) {
	e.t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(10 * time.Millisecond) {
		n := e.count(`SELECT count(*) FROM goforward.audit_log WHERE id > (SELECT coalesce(max(entry_id), 0) FROM goforward.audit_chain)`)
		if n == 0 {
			return
		}
		require.True(e.t, time.Now().Before(deadline), "%s: %d entries still unsealed", why, n)
	}
}

// tamper runs sql as the database owner with triggers off, as someone holding the owner's
// password could: the append-only trigger does not stop the owner, the chain must tell.
func (e *env) tamper(sql string, args ...any) {
	e.t.Helper()
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	require.NoError(e.t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
	require.NoError(e.t, err)
	_, err = tx.Exec(ctx, sql, args...)
	require.NoError(e.t, err)
	require.NoError(e.t, tx.Commit(ctx))
}

// ids returns the ids of the log, in order.
func (e *env) ids() []int64 {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT id FROM goforward.audit_log ORDER BY id`)
	require.NoError(e.t, err)
	var out []int64
	for rows.Next() {
		var id int64
		require.NoError(e.t, rows.Scan(&id))
		out = append(out, id)
	}
	require.NoError(e.t, rows.Err())
	return out
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func archivePath(dir string) string { return filepath.Join(dir, "archive") }

// ago is a time in the past, at microsecond precision like the database's.
func ago(d time.Duration) time.Time { return time.Now().Add(-d).UTC().Truncate(time.Microsecond) }
