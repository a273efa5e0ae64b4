package load

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRunStopsAtTheRequestBudget(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	res := Run(context.Background(), Config{Concurrency: 4, Duration: time.Minute, MaxRequests: 1000}, func(context.Context, int) error {
		calls.Add(1)
		return nil
	})
	require.Equal(t, int64(1000), res.Requests)
	require.Equal(t, int64(1000), calls.Load())
	require.Equal(t, int64(1000), res.AllCalls)
	require.Zero(t, res.Errors)
	require.Positive(t, res.PerSecond())
}

func TestRunStopsAtTheDeadline(t *testing.T) {
	t.Parallel()
	res := Run(context.Background(), Config{Concurrency: 2, Duration: 50 * time.Millisecond}, func(ctx context.Context, _ int) error {
		select {
		case <-ctx.Done():
		case <-time.After(time.Millisecond):
		}
		return nil
	})
	require.Positive(t, res.Requests)
	require.Less(t, res.Requests, int64(1000), "a 50ms run of 1ms calls on two workers cannot make 1000 calls")
}

func TestRunCountsWarmupCallsOnlyInAllCalls(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	res := Run(context.Background(), Config{Concurrency: 2, Duration: 100 * time.Millisecond, Warmup: 50 * time.Millisecond}, func(ctx context.Context, _ int) error {
		calls.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(time.Millisecond):
		}
		return nil
	})
	require.Equal(t, calls.Load(), res.AllCalls)
	require.Greater(t, res.AllCalls, res.Requests, "warm-up calls are made but not measured")
}

func TestRunCountsErrorsAndKeepsTheFirst(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	var n atomic.Int64
	res := Run(context.Background(), Config{Concurrency: 1, MaxRequests: 10}, func(context.Context, int) error {
		if n.Add(1)%2 == 0 {
			return boom
		}
		return nil
	})
	require.Equal(t, int64(10), res.Requests)
	require.Equal(t, int64(5), res.Errors)
	require.ErrorIs(t, res.FirstError, boom)
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	sorted := make([]time.Duration, 100)
	for i := range sorted {
		sorted[i] = time.Duration(i+1) * time.Millisecond
	}
	require.Equal(t, 50*time.Millisecond, percentile(sorted, 0.50))
	require.Equal(t, 99*time.Millisecond, percentile(sorted, 0.99))
	require.Equal(t, time.Millisecond, percentile(sorted[:1], 0.99))
}
