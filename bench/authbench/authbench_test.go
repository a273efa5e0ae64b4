package authbench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/bench/harness"
)

// TestRunSignsInAndRefreshesThroughTheRealBinary is the benchmark's smoke test: one short
// round through the real binary must sign users in and keep every worker's refresh chain
// alive with no error. It asserts no timings.
func TestRunSignsInAndRefreshesThroughTheRealBinary(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := Config{Concurrency: 2, Duration: time.Second, Warmup: -1, Rounds: 1, Users: 3, BcryptCost: 4}
	stack, err := harness.Start(ctx, StackOptions(cfg))
	require.NoError(t, err)
	defer stack.Close()

	report, err := Run(ctx, stack, cfg)
	require.NoError(t, err)
	require.Empty(t, report.Errors())
	require.Equal(t, 4, report.Config.Users, "users are rounded up to a multiple of the workers")
	for _, op := range operations() {
		require.Len(t, report.Results[op], 1, op)
		require.Positive(t, report.Results[op][0].Requests, "%s made no call", op)
	}
	require.Positive(t, report.Ratios(SignIn, Bcrypt)[0])
	require.Contains(t, report.Markdown(), "sign-ins/s ÷ bcrypt compares/s")
}
