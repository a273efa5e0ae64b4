package storagebench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestObjectsGiveEveryClientTheSameShare(t *testing.T) {
	t.Parallel()
	cfg := Config{CellBytes: 400 * MiB}
	require.Equal(t, 400, cfg.objects(MiB, 1))
	require.Equal(t, 400, cfg.objects(MiB, 16))
	require.Equal(t, 48, cfg.objects(MiB*10, 16), "40 rounded up to a multiple of 16")
	require.Equal(t, 4, cfg.objects(100*MiB, 1))
	require.Equal(t, 16, cfg.objects(100*MiB, 16), "at least one object per client")
}

func TestMarkdownShowsThroughputRatiosAndMemory(t *testing.T) {
	t.Parallel()
	r := &Report{
		IdleRSS:     20 * MiB,
		PeakPerCell: true,
		Cells: []Cell{{
			Size: 100 * MiB, Clients: 16, Objects: 16,
			Upload: 8 * time.Second, CopyWrite: 4 * time.Second,
			Download: time.Second, CopyRead: time.Second / 2,
			PeakRSS: 64 * MiB, EndRSS: 30 * MiB,
		}},
	}
	md := r.Markdown()
	// 1600 MiB = 1677.7 MB: 210 MB/s uploading, 419 writing the file, half as fast.
	require.Contains(t, md, "| 100 MiB | 16 | 16 (1600 MiB) | 210 | 419 | **0.50** | 1678 | 3355 | **0.50** | 64 |")
	require.Contains(t, md, "20 MiB idle")
	require.Contains(t, md, "VmHWM reset before each cell")
}

func TestFormatSizeUsesTheLargestExactUnit(t *testing.T) {
	t.Parallel()
	require.Equal(t, "1 MiB", formatSize(MiB))
	require.Equal(t, "100 MiB", formatSize(100*MiB))
	require.Equal(t, "64 KiB", formatSize(64<<10))
	require.Equal(t, "1536 KiB", formatSize(MiB+MiB/2))
	require.Equal(t, "1000 B", formatSize(1000))
	require.Equal(t, "2 GiB", formatSize(2<<30))
}

func TestStatusFieldReadsProcStatus(t *testing.T) {
	t.Parallel()
	status := "Name:\tgoforward\nPPid:\t4242\nVmHWM:\t   81234 kB\nVmRSS:\t   51200 kB\n"
	hwm, err := statusField(status, "VmHWM")
	require.NoError(t, err)
	require.Equal(t, int64(81234), hwm)
	ppid, err := statusField(status, "PPid")
	require.NoError(t, err)
	require.Equal(t, int64(4242), ppid)
	_, err = statusField(status, "VmSwap")
	require.Error(t, err)
}
