package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/redistest"
)

// node is one process's connection to the shared Redis.
func node(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	return client
}

func TestRedisBudgetIsSharedByNodes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a := NewRedis(node(t, srv), RedisConfig{Name: "gateway", Rate: 0.001, Burst: 3})
	b := NewRedis(node(t, srv), RedisConfig{Name: "gateway", Rate: 0.001, Burst: 3})
	other := NewRedis(node(t, srv), RedisConfig{Name: "auth_otp", Rate: 0.001, Burst: 3})

	require.True(t, allow(t, a, "203.0.113.1").Allowed)
	require.True(t, allow(t, b, "203.0.113.1").Allowed)
	d := allow(t, a, "203.0.113.1")
	require.True(t, d.Allowed)
	require.Zero(t, d.Remaining)
	denied := allow(t, b, "203.0.113.1")
	require.False(t, denied.Allowed, "node b sees what node a spent")
	require.Greater(t, denied.RetryAfter, 900*time.Second, "Redis's own clock: a token takes 1000 s")

	require.True(t, allow(t, other, "203.0.113.1").Allowed, "another limiter name has its own buckets")
	require.True(t, allow(t, b, "203.0.113.2").Allowed, "another key has its own bucket")
}

func TestRedisKeysArePrefixedHashedAndExpire(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	client := node(t, srv)
	// A bucket of 10 at 2 per second is full again 5 s after it was emptied.
	l := NewRedis(client, RedisConfig{Prefix: "tenant-a:", Name: "auth_otp", Rate: 2, Burst: 10})
	require.True(t, allow(t, l, "addr:someone@example.com").Allowed)

	keys, err := client.Keys(t.Context(), "*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.True(t, strings.HasPrefix(keys[0], "tenant-a:auth_otp:"), keys[0])
	require.NotContains(t, keys[0], "someone", "addresses are not stored in Redis")
	ttl, err := client.PTTL(t.Context(), keys[0]).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 5*time.Second)
	require.LessOrEqual(t, ttl, 6*time.Second)
}

func TestRedisUnreachable(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	l := NewRedis(node(t, srv), RedisConfig{Timeout: time.Second})
	srv.Stop()
	_, err := l.Allow(t.Context(), "k")
	require.Error(t, err)
}

// switchable is a Redis that can be made to fail, standing in for an outage that ends.
type switchable struct {
	redis.Scripter
	down atomic.Bool
}

var errOutage = errors.New("dial tcp 10.0.0.9:6379: connect: connection refused")

func (s *switchable) failing(ctx context.Context) *redis.Cmd {
	cmd := redis.NewCmd(ctx)
	cmd.SetErr(errOutage)
	return cmd
}

func (s *switchable) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	if s.down.Load() {
		return s.failing(ctx)
	}
	return s.Scripter.Eval(ctx, script, keys, args...)
}

func (s *switchable) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	if s.down.Load() {
		return s.failing(ctx)
	}
	return s.Scripter.EvalSha(ctx, sha, keys, args...)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStoreFallsBackToLocalLimitsWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	r := &switchable{Scripter: node(t, srv)}
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	c := newClock()
	store := NewStore(StoreConfig{
		Redis: r, RetryInterval: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	reg.MustRegister(store.Collector())
	store.now = c.now
	require.True(t, store.Shared())
	l := store.Limiter("gateway", 0.001, 2)
	errorsOf := func() float64 { return storeErrors(t, reg, "gateway") }

	require.True(t, allow(t, l, "k").Allowed)
	require.Equal(t, 0, allow(t, l, "k").Remaining, "Redis's bucket is spent")
	require.False(t, allow(t, l, "k").Allowed)

	r.down.Store(true)
	// The local bucket starts full: this node alone still limits the key to its burst.
	require.True(t, allow(t, l, "k").Allowed)
	require.True(t, allow(t, l, "k").Allowed)
	require.False(t, allow(t, l, "k").Allowed, "still limited while Redis is down")
	require.Equal(t, 1.0, errorsOf(), "Redis is not asked again within the retry interval")
	require.Equal(t, 1, strings.Count(logs.String(), "rate-limit store unreachable"))
	require.Contains(t, logs.String(), "connection refused")

	c.advance(10 * time.Second)
	require.False(t, allow(t, l, "k").Allowed)
	require.Equal(t, 2.0, errorsOf(), "asked again after the retry interval, still down")
	require.Equal(t, 1, strings.Count(logs.String(), "rate-limit store unreachable"), "logged once per outage")

	r.down.Store(false)
	c.advance(10 * time.Second)
	require.False(t, allow(t, l, "k").Allowed, "back on Redis's bucket, which is still spent")
	require.Contains(t, logs.String(), "rate-limit store reachable again")
	require.True(t, allow(t, l, "other").Allowed)
	require.Equal(t, 2.0, errorsOf())

}

// storeErrors reads goforward_ratelimit_store_errors_total{limiter} from reg, as a scraper
// would see it.
func storeErrors(t *testing.T, reg prometheus.Gatherer, limiter string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "goforward_ratelimit_store_errors_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "limiter" && l.GetValue() == limiter {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestStoreWithRealRedisStopped(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	reg := prometheus.NewRegistry()
	store := NewStore(StoreConfig{Redis: node(t, srv), Logger: slog.New(slog.DiscardHandler)})
	reg.MustRegister(store.Collector())
	l := store.Limiter("auth_token", 0.001, 1)
	require.True(t, allow(t, l, "k").Allowed)
	srv.Stop()
	require.True(t, allow(t, l, "k").Allowed, "decided locally")
	require.False(t, allow(t, l, "k").Allowed, "and still limited")
	require.Equal(t, 1.0, storeErrors(t, reg, "auth_token"))
}

func TestStoreWithoutRedisIsMemory(t *testing.T) {
	t.Parallel()
	store := NewStore(StoreConfig{})
	require.False(t, store.Shared())
	l := store.Limiter("gateway", 1, 1)
	require.IsType(t, &Memory{}, l)
	require.True(t, allow(t, l, "k").Allowed)
	require.False(t, allow(t, l, "k").Allowed)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.NoError(t, store.Run(ctx))
}
