package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/redistest"
)

// implementation builds a limiter of one kind on the test's clock.
type implementation struct {
	name string
	new  func(t *testing.T, c *clock, rate float64, burst int) Limiter
}

// implementations are every Limiter, each of which must pass the same suite.
func implementations(t *testing.T) []implementation {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	var n atomic.Int64
	return []implementation{
		{"memory", func(_ *testing.T, c *clock, rate float64, burst int) Limiter {
			return withClock(NewMemory(MemoryConfig{Rate: rate, Burst: burst}), c)
		}},
		{"redis", func(_ *testing.T, c *clock, rate float64, burst int) Limiter {
			// Every limiter gets its own name, so subtests sharing the server do not meet.
			l := NewRedis(client, RedisConfig{Name: fmt.Sprintf("conformance-%d", n.Add(1)), Rate: rate, Burst: burst})
			l.now = c.now
			return l
		}},
	}
}

func TestLimiterConformance(t *testing.T) {
	t.Parallel()
	for _, impl := range implementations(t) {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			t.Run("burst then deny", func(t *testing.T) {
				t.Parallel()
				l := impl.new(t, newClock(), 1, 3)
				for _, remaining := range []int{2, 1, 0} {
					d := allow(t, l, "10.0.0.1")
					require.True(t, d.Allowed)
					require.Equal(t, remaining, d.Remaining)
					require.Zero(t, d.RetryAfter)
				}
				denied := allow(t, l, "10.0.0.1")
				require.False(t, denied.Allowed)
				require.InDelta(t, time.Second, denied.RetryAfter, float64(time.Microsecond))
				require.Equal(t, 1, denied.RetryAfterSeconds())
				require.True(t, allow(t, l, "10.0.0.2").Allowed, "keys have separate buckets")
			})
			t.Run("refills at rate and a denial consumes nothing", func(t *testing.T) {
				t.Parallel()
				c := newClock()
				l := impl.new(t, c, 0.4, 1)
				require.True(t, allow(t, l, "k").Allowed)
				denied := allow(t, l, "k")
				require.False(t, denied.Allowed)
				require.InDelta(t, 2500*time.Millisecond, denied.RetryAfter, float64(time.Microsecond))
				require.Equal(t, 3, denied.RetryAfterSeconds())

				c.advance(2 * time.Second)
				denied = allow(t, l, "k")
				require.False(t, denied.Allowed, "the bucket is not full yet")
				require.InDelta(t, 500*time.Millisecond, denied.RetryAfter, float64(time.Microsecond))
				c.advance(500 * time.Millisecond)
				require.True(t, allow(t, l, "k").Allowed)
			})
			t.Run("refill stops at burst", func(t *testing.T) {
				t.Parallel()
				c := newClock()
				l := impl.new(t, c, 10, 2)
				require.True(t, allow(t, l, "k").Allowed)
				c.advance(time.Hour)
				require.Equal(t, 1, allow(t, l, "k").Remaining)
				require.True(t, allow(t, l, "k").Allowed)
				require.False(t, allow(t, l, "k").Allowed)
			})
			t.Run("concurrent callers share the exact budget", func(t *testing.T) {
				t.Parallel()
				const burst, keys, goroutines, perRoutine = 20, 4, 8, 30
				// A frozen clock means no refill, so exactly burst events per key may pass.
				l := impl.new(t, newClock(), 1, burst)
				var allowed [keys]atomic.Int64
				var wg sync.WaitGroup
				for g := range goroutines {
					wg.Go(func() {
						for i := range perRoutine {
							k := (g + i) % keys
							d, err := l.Allow(context.Background(), fmt.Sprintf("key-%d", k))
							if err == nil && d.Allowed {
								allowed[k].Add(1)
							}
						}
					})
				}
				wg.Wait()
				for k := range keys {
					require.EqualValues(t, burst, allowed[k].Load(), "key-%d", k)
				}
			})
			t.Run("defaults", func(t *testing.T) {
				t.Parallel()
				l := impl.new(t, newClock(), 0, 0)
				for range DefaultBurst {
					require.True(t, allow(t, l, "k").Allowed)
				}
				require.False(t, allow(t, l, "k").Allowed)
			})
			t.Run("done context", func(t *testing.T) {
				t.Parallel()
				l := impl.new(t, newClock(), 1, 1)
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				_, err := l.Allow(ctx, "k")
				require.ErrorIs(t, err, context.Canceled)
				require.True(t, allow(t, l, "k").Allowed, "nothing was taken")
			})
		})
	}
}
