package auditbench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/bench/harness"
)

// TestRunWritesSealsAndExportsThroughTheRealBinary is the benchmark's smoke test: one short
// round of each write variant and a small export through the real binary, with no error. It
// asserts no timings.
func TestRunWritesSealsAndExportsThroughTheRealBinary(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := Config{Concurrency: 2, Duration: time.Second, Warmup: -1, Rounds: 1, ExportRows: 3000}
	stack, err := harness.Start(ctx, StackOptions(cfg))
	require.NoError(t, err)
	defer stack.Close()

	report, err := Run(ctx, stack, cfg)
	require.NoError(t, err)
	require.Empty(t, report.Errors())
	for _, v := range variants() {
		require.Len(t, report.Writes[v], 1, v)
		require.Positive(t, report.Writes[v][0].Requests, "%s made no call", v)
	}
	require.Len(t, report.SealLag, 3)
	for _, pair := range [][2]string{{APIAudited, APIPlain}, {RequestAudited, RequestPlain}, {TxAudited, TxPlain}} {
		require.Positive(t, report.Ratios(pair[0], pair[1])[0], pair[0])
	}
	var discarded bool
	require.NoError(t, stack.Direct.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'auditbench_discard')`).Scan(&discarded))
	require.False(t, discarded, "the trigger of the plain API variant is gone")
	require.GreaterOrEqual(t, report.Verify.Checked, int64(3000))
	require.Len(t, report.Exports, 2)
	for _, e := range report.Exports {
		require.GreaterOrEqual(t, e.Rows, int64(3000), e.Format)
		require.Positive(t, e.PeakRSS)
	}
	require.Contains(t, report.Markdown(), "audited ÷ plain, goforward's admin API")
}
