// Package load is a small closed-loop load generator for the benchmarks under bench/: a fixed
// number of workers call one operation back to back, bounded in both count and time, and the
// latencies are reported as percentiles. It measures the operation's round trip as the caller
// sees it; comparing two operations is only meaningful within one run on the same machine.
package load

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config bounds a run. Zero values mean the stated defaults.
type Config struct {
	Concurrency int           // workers calling the operation at once; default 32
	Duration    time.Duration // stop after this long; default 10s
	MaxRequests int64         // stop after this many calls in total; default 10,000,000
	Warmup      time.Duration // calls made during this time are not measured; default 0
}

// Result summarises a run.
type Result struct {
	Requests   int64         // measured calls, failed ones included
	Errors     int64         // calls that returned an error
	FirstError error         // the first error seen, for the report
	Elapsed    time.Duration // measured wall time
	P50, P90   time.Duration
	P99, Max   time.Duration
	// AllCalls counts every call made, warm-up calls and calls cut short by the end of the
	// run included: the denominator for resources the whole run consumed.
	AllCalls int64
}

// PerSecond is the measured throughput of successful calls.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

// String is a one-line summary for logs and RESULTS.md.
func (r Result) String() string {
	return fmt.Sprintf("%.0f/s  p50 %s  p90 %s  p99 %s  max %s  (%d calls, %d errors)",
		r.PerSecond(), round(r.P50), round(r.P90), round(r.P99), round(r.Max), r.Requests, r.Errors)
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// Op is one call. worker identifies the calling worker (0..Concurrency-1) so an operation can
// keep per-worker state such as its own connection or row.
type Op func(ctx context.Context, worker int) error

// Run calls op from cfg.Concurrency workers until the duration or request budget is used up
// or ctx ends, and reports what it measured.
func Run(ctx context.Context, cfg Config, op Op) Result {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = 10_000_000
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Warmup+cfg.Duration)
	defer cancel()

	var (
		budget     atomic.Int64
		calls      atomic.Int64
		errs       atomic.Int64
		firstErrMu sync.Mutex
		firstErr   error
		wg         sync.WaitGroup
	)
	budget.Store(cfg.MaxRequests)
	measureFrom := time.Now().Add(cfg.Warmup)
	latencies := make([][]time.Duration, cfg.Concurrency)
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := time.Now()
				measured := !start.Before(measureFrom)
				if measured && budget.Add(-1) < 0 {
					return
				}
				err := op(ctx, w)
				calls.Add(1)
				if !measured {
					continue
				}
				if ctx.Err() != nil {
					// A call cut short by the end of the run is neither a result nor an error.
					return
				}
				latencies[w] = append(latencies[w], time.Since(start))
				if err != nil {
					if errs.Add(1) == 1 {
						firstErrMu.Lock()
						firstErr = err
						firstErrMu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)

	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	res := Result{Requests: int64(len(all)), AllCalls: calls.Load(), Errors: errs.Load(), FirstError: firstErr, Elapsed: elapsed}
	if len(all) > 0 {
		res.P50 = percentile(all, 0.50)
		res.P90 = percentile(all, 0.90)
		res.P99 = percentile(all, 0.99)
		res.Max = all[len(all)-1]
	}
	return res
}

// percentile reads the q-quantile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}
