package load

import "slices"

// Median is the middle value of xs (the mean of the two middle ones for an even count), or 0
// for none. Benchmarks report the median of per-round ratios: one noisy round on a shared
// machine moves it less than it would move a mean.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

// Ratio is a ÷ b, or 0 when b is 0 (a measurement that produced nothing).
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
