package cron_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/cron"
	"github.com/goforward/goforward/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestParse(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 10, 7, 30, 0, time.UTC)
	for spec, want := range map[string]time.Time{
		"*/5 * * * *":  time.Date(2026, 3, 4, 10, 10, 0, 0, time.UTC),
		"0 12 * * *":   time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC),
		"@hourly":      time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC),
		"@every 1s":    time.Date(2026, 3, 4, 10, 7, 31, 0, time.UTC),
		"@every 1m":    time.Date(2026, 3, 4, 10, 8, 0, 0, time.UTC),
		"30 9 1 * MON": time.Date(2026, 3, 9, 9, 30, 0, 0, time.UTC),
	} {
		s, err := cron.Parse(spec)
		require.NoError(t, err, spec)
		require.Equal(t, want, s.Next(at), spec)
		// Another zone's clock reading the same instant gets the same tick.
		require.True(t, want.Equal(s.Next(at.In(time.FixedZone("X", 5*3600)))), spec)
	}
	for _, spec := range []string{"", "* * * *", "61 * * * *", "@every 500ms", "@every 1.5s", "@every x", "TZ=Europe/Paris 0 * * * *", "* * * * * *"} {
		_, err := cron.Parse(spec)
		require.Error(t, err, spec)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "@every 2s", "0 0 1 1 *", "1-5/2 * * * MON-FRI"} {
		f.Add(s)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := cron.Parse(spec)
		if err != nil {
			return
		}
		if next := s.Next(at); !next.IsZero() && !next.After(at) {
			t.Fatalf("%q: next tick %v is not after %v", spec, next, at)
		}
	})
}

var quiet = slog.New(slog.DiscardHandler)

type runRow struct {
	scheduledAt time.Time
	status      string
	err         *string
}

func runs(t *testing.T, db *pgtest.Database, job string) []runRow {
	t.Helper()
	rows, err := db.Pool.Query(t.Context(), `SELECT scheduled_at, status, error FROM goforward.cron_runs WHERE job = $1 ORDER BY scheduled_at`, job)
	require.NoError(t, err)
	defer rows.Close()
	var out []runRow
	for rows.Next() {
		var r runRow
		require.NoError(t, rows.Scan(&r.scheduledAt, &r.status, &r.err))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestTwoNodesRunEachTickOnce runs one job on two schedulers (two nodes, each with its own
// pool): every tick runs exactly once, on one of them, and is recorded.
func TestTwoNodesRunEachTickOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	var calls atomic.Int64
	spec := "@every 1s"
	sched, err := cron.Parse(spec)
	require.NoError(t, err)
	job := cron.Job{Name: "count", Spec: spec, Schedule: sched, Run: func(context.Context) error {
		calls.Add(1)
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		s := cron.New(db.NewPool(t), quiet, []cron.Job{job})
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	require.Eventually(t, func() bool { return len(runs(t, db, "count")) >= 4 }, 30*time.Second, 20*time.Millisecond)
	cancel()
	wg.Wait()
	got := runs(t, db, "count")
	require.Equal(t, int64(len(got)), calls.Load(), "each recorded tick ran once")
	for i, r := range got {
		require.Equal(t, "succeeded", r.status)
		if i > 0 {
			require.True(t, r.scheduledAt.After(got[i-1].scheduledAt))
		}
	}
}

// TestTickRecordsFailuresAndNeverOverlaps: a failing or panicking job is recorded as failed
// with its error; while a run goes on on one node, another node's tick does not start a
// second run; a run left "running" by a node that died is marked failed by the next tick.
func TestTickRecordsFailuresAndNeverOverlaps(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := t.Context()
	a := cron.New(db.NewPool(t), quiet, nil)
	b := cron.New(db.NewPool(t), quiet, nil)
	sched, _ := cron.Parse("@every 1m")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	fail := cron.Job{Name: "fail", Spec: "@every 1m", Schedule: sched, Run: func(context.Context) error { return errors.New("mailbox full") }}
	require.NoError(t, a.Tick(ctx, fail, at))
	boom := cron.Job{Name: "boom", Spec: "@every 1m", Schedule: sched, Run: func(context.Context) error { panic("out of range") }}
	require.NoError(t, a.Tick(ctx, boom, at))
	got := runs(t, db, "fail")
	require.Len(t, got, 1)
	require.Equal(t, "failed", got[0].status)
	require.Equal(t, "mailbox full", *got[0].err)
	got = runs(t, db, "boom")
	require.Equal(t, "failed", got[0].status)
	require.Equal(t, "panic: out of range", *got[0].err)

	// The same tick on the other node: already run.
	var again atomic.Bool
	fail.Run = func(context.Context) error { again.Store(true); return nil }
	require.NoError(t, b.Tick(ctx, fail, at))
	require.False(t, again.Load())
	require.Len(t, runs(t, db, "fail"), 1)

	started, release := make(chan struct{}), make(chan struct{})
	var overlapped atomic.Bool
	slow := cron.Job{Name: "slow", Spec: "@every 1m", Schedule: sched, Run: func(context.Context) error {
		select {
		case <-started:
			overlapped.Store(true)
		default:
			close(started)
			<-release
		}
		return nil
	}}
	done := make(chan error, 1)
	go func() { done <- a.Tick(ctx, slow, at) }()
	<-started
	require.NoError(t, b.Tick(ctx, slow, at.Add(time.Minute)))
	close(release)
	require.NoError(t, <-done)
	require.False(t, overlapped.Load(), "the next tick did not start while the run went on")
	require.Len(t, runs(t, db, "slow"), 1)

	_, err := db.Pool.Exec(ctx, `INSERT INTO goforward.cron_runs (job, schedule, scheduled_at, node) VALUES ('slow', '@every 1m', $1, 'gone')`, at.Add(2*time.Minute))
	require.NoError(t, err)
	require.NoError(t, b.Tick(ctx, slow, at.Add(3*time.Minute)))
	got = runs(t, db, "slow")
	require.Len(t, got, 3)
	require.Equal(t, "failed", got[1].status)
	require.Contains(t, *got[1].err, "stopped")
	require.Equal(t, "succeeded", got[2].status)

	list, err := cron.List(ctx, db.Pool, cron.Filter{Job: "slow", Status: "failed"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	_, err = cron.List(ctx, db.Pool, cron.Filter{Limit: 501})
	require.ErrorIs(t, err, cron.ErrBadFilter)
}
