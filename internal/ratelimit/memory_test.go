package ratelimit

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clock is a settable time source so tests control refills exactly instead of sleeping.
type clock struct{ unixNano atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.unixNano.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time             { return time.Unix(0, c.unixNano.Load()) }
func (c *clock) advance(d time.Duration)    { c.unixNano.Add(int64(d)) }
func withClock(m *Memory, c *clock) *Memory { m.now = c.now; return m }

func allow(t *testing.T, l Limiter, key string) Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), key)
	require.NoError(t, err)
	return d
}

func TestMemoryMaxKeysBound(t *testing.T) {
	t.Parallel()
	const maxKeys = 256
	m := withClock(NewMemory(MemoryConfig{Rate: 1, Burst: 1, MaxKeys: maxKeys}), newClock())

	require.True(t, allow(t, m, "hot").Allowed)
	require.True(t, allow(t, m, "cold").Allowed)
	for i := range 10_000 {
		allow(t, m, fmt.Sprintf("203.0.113.%d/%d", i%256, i))
		require.False(t, allow(t, m, "hot").Allowed, "a recently used key keeps its empty bucket")
		require.LessOrEqual(t, m.Len(), maxKeys)
	}
	require.Greater(t, m.Len(), maxKeys/2)
	require.True(t, allow(t, m, "cold").Allowed, "the least recently used key was forgotten and starts afresh")
}

func TestMemorySweepForgetsIdleKeys(t *testing.T) {
	t.Parallel()
	c := newClock()
	m := withClock(NewMemory(MemoryConfig{Rate: 10, Burst: 10, IdleTimeout: 5 * time.Minute}), c)

	for i := range 100 {
		allow(t, m, fmt.Sprintf("idle-%d", i))
	}
	c.advance(4 * time.Minute)
	allow(t, m, "recent")
	m.sweep(c.now())
	require.Equal(t, 101, m.Len(), "nothing is idle long enough yet")

	c.advance(2 * time.Minute)
	m.sweep(c.now())
	require.Equal(t, 1, m.Len(), "only the recently used key is left")
}

func TestMemoryIdleTimeoutNeverShorterThanRefill(t *testing.T) {
	t.Parallel()
	c := newClock()
	// An empty bucket needs 100 s to refill; a 1 s idle timeout would let a caller reset it.
	m := withClock(NewMemory(MemoryConfig{Rate: 1, Burst: 100, IdleTimeout: time.Second}), c)
	for range 100 {
		require.True(t, allow(t, m, "k").Allowed)
	}
	c.advance(90 * time.Second)
	m.sweep(c.now())
	require.Equal(t, 1, m.Len())

	d := allow(t, m, "k")
	require.True(t, d.Allowed)
	require.Equal(t, 89, d.Remaining, "the partially refilled bucket was kept")
}

func TestMemoryRunSweepsUntilCancelled(t *testing.T) {
	t.Parallel()
	c := newClock()
	m := withClock(NewMemory(MemoryConfig{SweepInterval: time.Millisecond}), c)
	allow(t, m, "k")
	c.advance(time.Hour)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	require.Eventually(t, func() bool { return m.Len() == 0 }, 10*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func TestMemoryAllowWithDoneContext(t *testing.T) {
	t.Parallel()
	m := NewMemory(MemoryConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := m.Allow(ctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, m.Len())
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    Decision
		want int
	}{
		{Decision{Allowed: true}, 0},
		{Decision{RetryAfter: time.Millisecond}, 1},
		{Decision{RetryAfter: 0}, 1},
		{Decision{RetryAfter: time.Second}, 1},
		{Decision{RetryAfter: 1001 * time.Millisecond}, 2},
		{Decision{RetryAfter: time.Minute}, 60},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.d.RetryAfterSeconds(), "%+v", tt.d)
	}
}
