package restbench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Markdown renders the report: per workload the medians and the median of the per-round
// ratios ours ÷ hand, then every round.
func (r *HandReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s → %s UTC, load average %s → %s; wrk -t%d -c%d, %d rounds × %s (+%s warm-up), ours and hand alternating.\n\n",
		r.Start.Format("2006-01-02 15:04:05"), r.End.Format("15:04:05"), r.LoadStart, r.LoadEnd,
		wrkThreads, r.Config.Concurrency, r.Config.Rounds, r.Config.Duration, r.Config.Warmup)
	b.WriteString("| workload | ours req/s | hand req/s | ours ÷ hand, per round | **median** | ours p50 / p99 | hand p50 / p99 | µs per call ours: goforward + PostgreSQL | hand: server + PostgreSQL |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, w := range handWorkloads() {
		var ours, hand []HandResult
		for _, res := range r.Results {
			if res.Workload != w.name {
				continue
			}
			if res.Variant == "ours" {
				ours = append(ours, res)
			} else {
				hand = append(hand, res)
			}
		}
		if len(ours) == 0 || len(ours) != len(hand) {
			continue
		}
		var ratios []float64
		var perRound []string
		for i := range ours {
			ratio := ours[i].Result.PerSecond() / hand[i].Result.PerSecond()
			ratios = append(ratios, ratio)
			perRound = append(perRound, fmt.Sprintf("%.2f", ratio))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %s | **%.2f** | %s / %s | %s / %s | %s | %s |\n", w.what,
			medianOf(ours, func(h HandResult) float64 { return h.Result.PerSecond() }),
			medianOf(hand, func(h HandResult) float64 { return h.Result.PerSecond() }),
			strings.Join(perRound, " / "), median(ratios),
			handMs(medianOf(ours, func(h HandResult) float64 { return float64(h.Result.P50) })),
			handMs(medianOf(ours, func(h HandResult) float64 { return float64(h.Result.P99) })),
			handMs(medianOf(hand, func(h HandResult) float64 { return float64(h.Result.P50) })),
			handMs(medianOf(hand, func(h HandResult) float64 { return float64(h.Result.P99) })),
			cpuPerCall(ours), cpuPerCall(hand))
	}
	b.WriteString("\n| round | workload | variant | req/s | p50 | p99 | errors | load average after |\n|---|---|---|---|---|---|---|---|\n")
	for _, res := range r.Results {
		fmt.Fprintf(&b, "| %d | %s | %s | %.0f | %s | %s | %d | %s |\n", res.Round, res.Workload, res.Variant,
			res.Result.PerSecond(), res.Result.P50, res.Result.P99, res.Result.Errors, res.LoadAverageEnd)
	}
	for _, p := range r.Perf {
		fmt.Fprintf(&b, "\nperf profile of goforward: %s\n", p)
	}
	return b.String()
}

// Errors lists the measurements that had errors.
func (r *HandReport) Errors() []string {
	var errs []string
	for _, res := range r.Results {
		if res.Result.Errors > 0 {
			errs = append(errs, fmt.Sprintf("round %d %s %s: %v", res.Round, res.Workload, res.Variant, res.Result.FirstError))
		}
	}
	return errs
}

func medianOf(rs []HandResult, f func(HandResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return median(v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func handMs(ns float64) string { return time.Duration(ns).Round(10 * time.Microsecond).String() }

// cpuPerCall is the median processor time per call of the server and of PostgreSQL.
func cpuPerCall(rs []HandResult) string {
	per := func(d time.Duration, h HandResult) float64 {
		if h.Result.AllCalls == 0 {
			return 0
		}
		return float64(d.Microseconds()) / float64(h.Result.AllCalls)
	}
	server := medianOf(rs, func(h HandResult) float64 { return per(h.ServerCPU, h) })
	pg := medianOf(rs, func(h HandResult) float64 { return per(h.PostgresCPU, h) })
	return fmt.Sprintf("%.0f + %.0f", server, pg)
}
