package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/pgtest"
)

// TestSealerWaitsForEarlierIDsWithoutBlockingWriters: an entry whose transaction is still
// open holds back the sealing of later ids (which would otherwise be chained before it), while
// other writers carry on and commit.
func TestSealerWaitsForEarlierIDsWithoutBlockingWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	slow, err := e.pool.Begin(ctx)
	require.NoError(t, err)
	defer slow.Rollback(ctx)
	require.NoError(t, audit.Record(ctx, slow, audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}, Action: "slow"}))

	// Writers are not held up by the open transaction or by the sealer.
	e.write(3, nil)
	sealer := e.sealer(audit.SealerConfig{Settle: 20 * time.Millisecond})
	n, err := sealer.Seal(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is sealed past an id whose transaction is still open")
	e.write(2, nil)
	require.Equal(t, 5, e.count(`SELECT count(*) FROM goforward.audit_log`))

	require.NoError(t, slow.Commit(ctx))
	n, err = sealer.Seal(ctx)
	require.NoError(t, err)
	require.Equal(t, 6, n)
	var inOrder bool
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT bool_and(entry_id = (SELECT min(id) FROM goforward.audit_log) + seq - 1)
FROM goforward.audit_chain`).Scan(&inOrder))
	require.True(t, inOrder, "links follow the ids")
	r := e.verify()
	require.True(t, r.OK, "%+v", r.FirstBroken)
	require.EqualValues(t, 6, r.Checked)
}

// TestSealerSkipsRolledBackIDs: a rolled-back write leaves a permanent gap, which the sealer
// steps over once its transaction is gone.
func TestSealerSkipsRolledBackIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.write(2, nil)
	tx, err := e.pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, audit.Record(ctx, tx, audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}, Action: "gone"}))
	require.NoError(t, tx.Rollback(ctx))
	e.write(2, nil)
	require.Equal(t, 4, e.seal())
	require.True(t, e.verify().OK)
}

// TestOneSealerPerDatabase: while one process seals, another stands by.
func TestOneSealerPerDatabase(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(t)
	running := e.sealer(audit.SealerConfig{Interval: 10 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- running.Run(ctx) }()

	e.write(5, nil)
	other := e.sealer(audit.SealerConfig{Dir: audit.Dir(t.TempDir())})
	require.Eventually(t, func() bool {
		_, err := other.Seal(ctx)
		return errors.Is(err, audit.ErrNotLeader)
	}, 30*time.Second, 10*time.Millisecond, "the running sealer holds the lock")
	e.awaitSealed(30*time.Second, "the running sealer seals new entries by itself")
	cancel()
	require.NoError(t, <-done)

	// Its lock went with it: the other may seal now.
	e.write(1, nil)
	n, err := other.Seal(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// TestConcurrentWritersLeaveAChainThatVerifies: 32 goroutines write 1,000 entries each, each
// in its own transaction, while the sealer runs.
func TestConcurrentWritersLeaveAChainThatVerifies(t *testing.T) {
	t.Parallel()
	const writers, perWriter = 32, 1000
	ctx := context.Background()
	database := pgtest.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(database.URL)
	require.NoError(t, err)
	cfg.MaxConns = writers
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	e := &env{t: t, pool: database.Pool, dir: audit.Dir(t.TempDir())}

	runCtx, stop := context.WithCancel(ctx)
	sealer := e.sealer(audit.SealerConfig{Interval: 5 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- sealer.Run(runCtx) }()

	var g errgroup.Group
	var mu sync.Mutex
	seen := map[string]bool{}
	for w := range writers {
		g.Go(func() error {
			for i := range perWriter {
				key := fmt.Sprintf("%d/%d", w, i)
				err := audit.Record(ctx, pool, audit.Entry{Actor: audit.Actor{Type: audit.ActorAdmin, ID: fmt.Sprint(w)},
					Action: "admin.concurrent", ResourceID: key, Details: map[string]any{"writer": w, "i": i}})
				if err != nil {
					return err
				}
				mu.Lock()
				seen[key] = true
				mu.Unlock()
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	require.Len(t, seen, writers*perWriter)
	e.awaitSealed(2*time.Minute, "the running sealer catches up")
	stop()
	require.NoError(t, <-done)

	r := e.verify()
	require.True(t, r.OK, "%+v", r.FirstBroken)
	require.EqualValues(t, writers*perWriter, r.Checked)
	require.Equal(t, writers*perWriter, e.count(`SELECT count(DISTINCT resource_id) FROM goforward.audit_log`))
}
