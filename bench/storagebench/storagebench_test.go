package storagebench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/bench/harness"
)

// TestRunMeasuresEveryCellThroughTheRealBinary is the benchmark's smoke test: a tiny run
// through the real binary must upload, download byte for byte, copy and clean up every cell,
// and read goforward's memory. It asserts no timings.
func TestRunMeasuresEveryCellThroughTheRealBinary(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := Config{Sizes: []int64{64 << 10, MiB + 3}, Clients: []int{1, 3}, CellBytes: 2 * MiB}
	stack, err := harness.Start(ctx, StackOptions(cfg))
	require.NoError(t, err)
	defer stack.Close()

	report, err := Run(ctx, stack, cfg)
	require.NoError(t, err)
	require.Len(t, report.Cells, 4)
	require.Positive(t, report.IdleRSS)
	for _, c := range report.Cells {
		require.Zero(t, c.Objects%c.Clients, "%+v", c)
		require.Positive(t, c.Upload)
		require.Positive(t, c.Download)
		require.Positive(t, c.CopyWrite)
		require.Positive(t, c.CopyRead)
		require.GreaterOrEqual(t, c.PeakRSS, report.IdleRSS/2, "%+v", c)
	}
	require.Contains(t, report.Markdown(), "| 1048579 B | 3 | 3 (3 MiB) |")

	var left int
	require.NoError(t, stack.Direct.QueryRow(ctx, `SELECT count(*) FROM storage.objects WHERE bucket_id = $1`, Bucket).Scan(&left))
	require.Zero(t, left, "every uploaded object is deleted before the run ends")
}
