package restbench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/bench/harness"
)

// TestRunMeasuresEveryWorkloadThroughTheRealBinary is the benchmark's smoke test: one short
// round through the real binary must serve every request of every variant, and the SQL the
// baselines send must be the SQL the service's own log shows. It asserts no timings.
func TestRunMeasuresEveryWorkloadThroughTheRealBinary(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := Config{Concurrency: 2, Duration: time.Second, Warmup: -1, Rounds: 1, Authors: 20, DBConns: 2}
	stack, err := harness.Start(ctx, StackOptions(cfg))
	require.NoError(t, err)
	defer stack.Close()

	report, err := Run(ctx, stack, cfg)
	require.NoError(t, err)
	require.Empty(t, report.Errors())
	require.Len(t, report.SQL, len(Workloads()))
	for _, s := range report.SQL {
		require.True(t, s.Match, "%s: logged %q, built %q", s.Workload, s.Logged, s.Built)
	}
	// wrk is part of the test dependencies (scripts/deps.sh test), so its variants must run.
	require.Equal(t, variants(true), report.Variants)
	for _, w := range Workloads() {
		for _, v := range report.Variants {
			results := report.Results[w.Name][v]
			require.Len(t, results, 1, "%s %s", w.Name, v)
			require.Positive(t, results[0].Requests, "%s %s made no request", w.Name, v)
		}
	}
	require.Positive(t, report.Health[0].Requests)
	markdown := report.Markdown()
	require.Contains(t, markdown, Workloads()[0].Title)
	require.Contains(t, markdown, "| ours·wrk ÷ direct |")
}
