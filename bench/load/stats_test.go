package load

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMedian(t *testing.T) {
	t.Parallel()
	require.Zero(t, Median(nil))
	require.Equal(t, 0.7, Median([]float64{0.9, 0.7, 0.2}))
	require.Equal(t, 0.5, Median([]float64{0.9, 0.4, 0.6, 0.1}))
	xs := []float64{3, 1, 2}
	Median(xs)
	require.Equal(t, []float64{3, 1, 2}, xs, "Median must not reorder its argument")
}

func TestRatio(t *testing.T) {
	t.Parallel()
	require.Equal(t, 0.5, Ratio(1, 2))
	require.Zero(t, Ratio(1, 0))
}
