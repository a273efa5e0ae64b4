package replication_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime/replication"
)

// TestSourceHandsOnEachChangeOnceAcrossBrokenSessions ends the replication session from
// inside the handing-on of chosen rows: in the middle of a transaction of many rows, and right
// after single-row transactions whose positions were not confirmed yet. Each new session starts
// from the slot's confirmed position, so it sends those transactions again; nothing may be
// handed on twice.
func TestSourceHandsOnEachChangeOnceAcrossBrokenSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pool := f.db.NewPool(t)
	src, err := replication.New(replication.Config{Slot: f.slot, RetryInterval: 50 * time.Millisecond, StatusInterval: time.Hour}, pool,
		slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	require.NoError(t, err)
	breakAt := map[string]bool{"3": true, "5": true, "106": true, "150": true, "207": true}
	var (
		mu  sync.Mutex
		got []string
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = src.Run(ctx, func(ctx context.Context, ch *replication.Change) error {
			id := values(ch, ch.New)["id"]
			mu.Lock()
			got = append(got, id)
			mu.Unlock()
			if breakAt[id] {
				delete(breakAt, id)
				_, err := f.db.Pool.Exec(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1`, f.slot)
				return err
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	f.waitStreaming(t)

	for id := 1; id <= 5; id++ {
		f.exec(t, `INSERT INTO items (id) VALUES ($1)`, id)
	}
	f.exec(t, `INSERT INTO items (id) SELECT g FROM generate_series(6, 205) g`)
	for id := 206; id <= 210; id++ {
		f.exec(t, `INSERT INTO items (id) VALUES ($1)`, id)
	}
	const total = 210
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0 && got[len(got)-1] == fmt.Sprint(total)
	}, 30*time.Second, 10*time.Millisecond, "the last row arrives")
	mu.Lock()
	defer mu.Unlock()
	for i, id := range got {
		require.Equal(t, fmt.Sprint(i+1), id, "change %d: each row once, in commit order (got %d changes)", i, len(got))
	}
	require.Len(t, got, total)
}
