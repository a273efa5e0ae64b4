package realtimebench

import (
	"slices"
	"time"
)

// receipt is one delivery seen by one subscriber: which row or message, and when it was read.
type receipt struct {
	id       int64
	received time.Time
}

// latencies pairs every receipt with the commit (or send) time of its id and returns the
// delays sorted ascending. Receipts of ids without a time (warm-up rows) are left out and
// counted in unknown. A delay can be negative: a subscriber may read a change before the
// inserting client has read its commit acknowledgement; it is kept, not clamped.
func latencies(origin map[int64]time.Time, receipts []receipt) (sorted []time.Duration, unknown int) {
	sorted = make([]time.Duration, 0, len(receipts))
	for _, r := range receipts {
		t, ok := origin[r.id]
		if !ok {
			unknown++
			continue
		}
		sorted = append(sorted, r.received.Sub(t))
	}
	slices.Sort(sorted)
	return sorted, unknown
}

// percentile is the nearest-rank q-quantile (0 < q ≤ 1) of ascending durations, or 0 for none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// bytesPerConnection is the growth of resident memory divided over n connections, or 0 for none.
func bytesPerConnection(before, after int64, n int) int64 {
	if n <= 0 {
		return 0
	}
	return (after - before) / int64(n)
}
