package realtimebench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLatenciesPairReceiptsWithTheirCommit(t *testing.T) {
	t.Parallel()
	base := time.Unix(1000, 0)
	origin := map[int64]time.Time{1: base, 2: base.Add(time.Second)}
	receipts := []receipt{
		{id: 2, received: base.Add(1500 * time.Millisecond)},
		{id: 1, received: base.Add(3 * time.Millisecond)},
		{id: 1, received: base.Add(-time.Millisecond)}, // read before the inserter saw the commit
		{id: 99, received: base},                       // a warm-up row
	}
	got, unknown := latencies(origin, receipts)
	require.Equal(t, []time.Duration{-time.Millisecond, 3 * time.Millisecond, 500 * time.Millisecond}, got)
	require.Equal(t, 1, unknown)
}

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	var sorted []time.Duration
	for i := 1; i <= 100; i++ {
		sorted = append(sorted, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, 50*time.Millisecond, percentile(sorted, 0.50))
	require.Equal(t, 99*time.Millisecond, percentile(sorted, 0.99))
	require.Equal(t, 100*time.Millisecond, percentile(sorted, 1))
	require.Equal(t, 7*time.Millisecond, percentile([]time.Duration{7 * time.Millisecond}, 0.99))
	require.Zero(t, percentile(nil, 0.5))
}

func TestBytesPerConnection(t *testing.T) {
	t.Parallel()
	require.Equal(t, int64(40<<10), bytesPerConnection(10<<20, 10<<20+1000*(40<<10), 1000))
	require.Zero(t, bytesPerConnection(1, 2, 0))
}

func TestRecordID(t *testing.T) {
	t.Parallel()
	id, ok := recordID([]byte(`{"ids":[3],"data":{"schema":"public","table":"rtb_plain","type":"INSERT","record":{"id":42,"sent_ns":1}}}`))
	require.True(t, ok)
	require.Equal(t, int64(42), id)
	_, ok = recordID([]byte(`{"ids":[3],"data":{"errors":["Error 401: Unauthorized"]}}`))
	require.False(t, ok)
}
