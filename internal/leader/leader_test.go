package leader_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/leader"
	"github.com/goforward/goforward/internal/pgtest"
)

// events records, in order, what each node's work did.
type events struct {
	mu      sync.Mutex
	log     []string
	running int
	overlap bool
	started chan string
}

func (e *events) work(node string) func(context.Context) error {
	return func(ctx context.Context) error {
		e.mu.Lock()
		e.running++
		e.overlap = e.overlap || e.running > 1
		e.log = append(e.log, node+" start")
		e.mu.Unlock()
		e.started <- node
		<-ctx.Done()
		e.mu.Lock()
		e.running--
		e.log = append(e.log, node+" stop")
		e.mu.Unlock()
		return nil
	}
}

// TestOneLeaderAtATime: two nodes compete; the leader's session is ended by the server (as a
// restart, a failover or an operator would); its work stops before the other node's starts.
func TestOneLeaderAtATime(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	cfg := leader.Config{Name: "test-work", RetryInterval: 20 * time.Millisecond, CheckInterval: 100 * time.Millisecond}
	ev := &events{started: make(chan string, 4)}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, node := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, leader.Run(ctx, database.NewPool(t), cfg, ev.work(node)))
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	first := <-ev.started

	// The leader's session ends on the server: its lock goes with it.
	_, err := database.Pool.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1`,
		leader.Key("test-work"))
	require.NoError(t, err)
	second := <-ev.started
	require.NotEqual(t, first, second, "the other node took over")

	ev.mu.Lock()
	defer ev.mu.Unlock()
	require.False(t, ev.overlap, "never two at once: %v", ev.log)
	require.Equal(t, []string{first + " start", first + " stop", second + " start"}, ev.log)
}
