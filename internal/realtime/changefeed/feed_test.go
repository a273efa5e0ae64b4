package changefeed_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime/changefeed"
	"github.com/goforward/goforward/internal/realtime/replication"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

// TestFeedResumesAfterTheLastHandledChange: a reader that stops in the middle of a
// transaction (the server has not been told of any of it) leaves a position behind; a new
// reader, with nothing in memory, is sent the whole transaction again and hands on only the
// changes after that position.
func TestFeedResumesAfterTheLastHandledChange(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := t.Context()
	_, err := db.Pool.Exec(ctx, `CREATE TABLE public.items (id int PRIMARY KEY); CREATE TABLE public.nokey (id int)`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = db.Pool.Exec(context.Background(), `SELECT pg_drop_replication_slot($1)`, changefeed.SlotName(db.Name))
	})

	bad, err := changefeed.New(changefeed.Config{Tables: []string{"public.nokey"}}, db.Pool, quiet, nil)
	require.NoError(t, err)
	require.ErrorContains(t, bad.Prepare(ctx), "no primary key")

	var (
		mu  sync.Mutex
		got []string
	)
	feed := func(handle func(ctx context.Context, id string) error) *changefeed.Feed {
		f, err := changefeed.New(changefeed.Config{Tables: []string{"public.items"}, RetryInterval: 50 * time.Millisecond}, db.NewPool(t), quiet,
			func(ctx context.Context, ch *replication.Change) error {
				id := string(ch.New[0].JSON)
				if err := handle(ctx, id); err != nil {
					return err
				}
				mu.Lock()
				got = append(got, id)
				mu.Unlock()
				return nil
			})
		require.NoError(t, err)
		require.NoError(t, f.Prepare(ctx))
		return f
	}

	runCtx, stop := context.WithCancel(ctx)
	first := feed(func(_ context.Context, id string) error {
		if id == "3" {
			stop() // the node goes away while handling the third change
			return errors.New("stopping")
		}
		return nil
	})
	// Prepared before the insert: the slot exists, so the changes are kept for the reader.
	_, err = db.Pool.Exec(ctx, `INSERT INTO public.items SELECT generate_series(1, 4)`)
	require.NoError(t, err)
	require.NoError(t, first.Run(runCtx))
	require.Equal(t, []string{"1", "2"}, got)

	runCtx, stop = context.WithCancel(ctx)
	done := make(chan error, 1)
	second := feed(func(context.Context, string) error { return nil })
	go func() { done <- second.Run(runCtx) }()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 4
	}, 30*time.Second, 10*time.Millisecond)
	stop()
	require.NoError(t, <-done)
	require.Equal(t, []string{"1", "2", "3", "4"}, got, "the new reader skipped what the first one handled")
}
