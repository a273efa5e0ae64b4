package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/redistest"
)

// recorder collects what a bus delivers.
type recorder struct {
	mu   sync.Mutex
	msgs []string // "channel|message"
}

func (r *recorder) deliver(channel string, msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, channel+"|"+string(msg))
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// busFactory returns a running Bus delivering to deliver; it stops when the test ends.
type busFactory func(t *testing.T, deliver DeliverFunc) Bus

func runBus(t *testing.T, b Bus) Bus {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return b
}

func memoryBusFactory(t *testing.T, deliver DeliverFunc) Bus {
	return runBus(t, newMemoryBus(deliver))
}

func redisClient(t *testing.T, url string) *redis.Client {
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return client
}

func redisBusFactory(url, node string) busFactory {
	return func(t *testing.T, deliver DeliverFunc) Bus {
		return runBus(t, newRedisBus(redisClient(t, url), "test:", node, deliver, slog.Default()))
	}
}

// testBus is the conformance suite every Bus implementation passes.
func testBus(t *testing.T, factory busFactory) {
	t.Run("delivers subscribed channels in order", func(t *testing.T) {
		rec := &recorder{}
		b := factory(t, rec.deliver)
		ctx := context.Background()
		require.NoError(t, b.Subscribe(ctx, "a"))
		var want []string
		for i := range 100 {
			msg := fmt.Sprintf(`{"n":%d}`, i)
			require.NoError(t, b.Publish(ctx, "a", []byte(msg)))
			want = append(want, "a|"+msg)
		}
		require.Eventually(t, func() bool { return len(rec.snapshot()) == len(want) }, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, want, rec.snapshot())
	})
	t.Run("ignores channels not subscribed and stops after unsubscribe", func(t *testing.T) {
		rec := &recorder{}
		b := factory(t, rec.deliver)
		ctx := context.Background()
		require.NoError(t, b.Subscribe(ctx, "a", "b"))
		require.NoError(t, b.Publish(ctx, "c", []byte("never")))
		require.NoError(t, b.Unsubscribe(ctx, "b"))
		require.NoError(t, b.Publish(ctx, "b", []byte("gone")))
		require.NoError(t, b.Publish(ctx, "a", []byte("marker")))
		require.Eventually(t, func() bool { return len(rec.snapshot()) > 0 }, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, []string{"a|marker"}, rec.snapshot())
	})
	t.Run("carries any bytes", func(t *testing.T) {
		rec := &recorder{}
		b := factory(t, rec.deliver)
		ctx := context.Background()
		require.NoError(t, b.Subscribe(ctx, "bin"))
		payload := []byte{'{', 0, 1, 255, '}'}
		require.NoError(t, b.Publish(ctx, "bin", payload))
		require.Eventually(t, func() bool { return len(rec.snapshot()) == 1 }, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, "bin|"+string(payload), rec.snapshot()[0])
	})
	t.Run("concurrent publishers", func(t *testing.T) {
		rec := &recorder{}
		b := factory(t, rec.deliver)
		ctx := context.Background()
		require.NoError(t, b.Subscribe(ctx, "c"))
		var wg sync.WaitGroup
		for p := range 4 {
			wg.Go(func() {
				for i := range 25 {
					_ = b.Publish(ctx, "c", []byte(fmt.Sprintf("%d-%d", p, i)))
				}
			})
		}
		wg.Wait()
		require.Eventually(t, func() bool { return len(rec.snapshot()) == 100 }, 10*time.Second, 5*time.Millisecond)
	})
}

func TestMemoryBusConformance(t *testing.T) {
	t.Parallel()
	testBus(t, memoryBusFactory)
}

func TestRedisBusConformance(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	testBus(t, redisBusFactory(srv.URL, "n1"))
}

// TestRedisBusConnectsNodes: what one node publishes, every subscribed node receives.
func TestRedisBusConnectsNodes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	recA, recB := &recorder{}, &recorder{}
	a := redisBusFactory(srv.URL, "a")(t, recA.deliver)
	b := redisBusFactory(srv.URL, "b")(t, recB.deliver)
	ctx := context.Background()
	require.NoError(t, a.Subscribe(ctx, "room"))
	require.NoError(t, b.Subscribe(ctx, "room"))
	require.NoError(t, a.Publish(ctx, "room", []byte(`{"from":"a"}`)))
	for _, rec := range []*recorder{recA, recB} {
		require.Eventually(t, func() bool { return len(rec.snapshot()) == 1 }, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, `room|{"from":"a"}`, rec.snapshot()[0])
	}
	// Redis works with other prefixes too: a node of another deployment hears nothing.
	recOther := &recorder{}
	other := runBus(t, newRedisBus(redisClient(t, srv.URL), "other:", "c", recOther.deliver, slog.Default()))
	require.NoError(t, other.Subscribe(ctx, "room"))
	require.NoError(t, a.Publish(ctx, "room", []byte(`{"second":true}`)))
	require.Eventually(t, func() bool { return len(recB.snapshot()) == 2 }, 10*time.Second, 5*time.Millisecond)
	require.Empty(t, recOther.snapshot())
}

// testPresenceStore is the conformance suite every PresenceStore passes.
func testPresenceStore(t *testing.T, store PresenceStore) {
	ctx := context.Background()
	entry := func(id, key, meta string) PresenceEntry {
		return PresenceEntry{ID: id, Key: key, Meta: json.RawMessage(meta)}
	}
	prev, err := store.Track(ctx, "t1", entry("n1/2", "bob", `{"phx_ref":"r1"}`))
	require.NoError(t, err)
	require.Nil(t, prev)
	_, err = store.Track(ctx, "t1", entry("n1/1", "ann", `{"phx_ref":"r2"}`))
	require.NoError(t, err)
	_, err = store.Track(ctx, "t2", entry("n2/1", "cid", `{"phx_ref":"r3"}`))
	require.NoError(t, err)

	list, err := store.List(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, []string{"n1/1", "n1/2"}, []string{list[0].ID, list[1].ID}, "sorted by ID, and only the topic's")
	require.Equal(t, "ann", list[0].Key)
	require.JSONEq(t, `{"phx_ref":"r2"}`, string(list[0].Meta))

	prev, err = store.Track(ctx, "t1", entry("n1/2", "bob", `{"phx_ref":"r4"}`))
	require.NoError(t, err)
	require.NotNil(t, prev)
	require.JSONEq(t, `{"phx_ref":"r1"}`, string(prev.Meta), "replacing returns the replaced entry")

	removed, err := store.Untrack(ctx, "t1", "n1/2")
	require.NoError(t, err)
	require.NotNil(t, removed)
	require.JSONEq(t, `{"phx_ref":"r4"}`, string(removed.Meta))
	removed, err = store.Untrack(ctx, "t1", "n1/2")
	require.NoError(t, err)
	require.Nil(t, removed)

	list, err = store.List(ctx, "t1")
	require.NoError(t, err)
	require.Len(t, list, 1)
	list, err = store.List(ctx, "nothing")
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestMemoryPresenceConformance(t *testing.T) {
	t.Parallel()
	testPresenceStore(t, newMemoryPresence())
}

func TestRedisPresenceConformance(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	testPresenceStore(t, newRedisPresence(redisClient(t, srv.URL), "test:", "n1", time.Minute, slog.Default()))
}

// TestRedisPresenceReapsStoppedNodes: entries of a node that stopped refreshing its liveness
// are removed by a live node, which reports them once.
func TestRedisPresenceReapsStoppedNodes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := redisClient(t, srv.URL)
	const ttl = 300 * time.Millisecond
	dead := newRedisPresence(client, "test:", "dead", ttl, slog.Default())
	ctx := context.Background()
	for i, topic := range []string{"t1", "t1", "t2"} {
		_, err := dead.Track(ctx, topic, PresenceEntry{ID: fmt.Sprintf("dead/%d", i), Key: "k", Meta: json.RawMessage(`{}`)})
		require.NoError(t, err)
	}
	live := newRedisPresence(client, "test:", "live", ttl, slog.Default())
	_, err := live.Track(ctx, "t1", PresenceEntry{ID: "live/1", Key: "me", Meta: json.RawMessage(`{}`)})
	require.NoError(t, err)

	var mu sync.Mutex
	gone := map[string]int{}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- live.Run(runCtx, func(topic string, entries []PresenceEntry) {
			mu.Lock()
			defer mu.Unlock()
			gone[topic] += len(entries)
		})
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return gone["t1"] == 2 && gone["t2"] == 1
	}, 10*time.Second, 20*time.Millisecond)
	list, err := live.List(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, []PresenceEntry{{ID: "live/1", Key: "me", Meta: json.RawMessage(`{}`)}}, list, "a live node keeps its entries")
}
