package authbench

import (
	"fmt"
	"strings"
	"time"

	"github.com/goforward/goforward/bench/load"
)

// Ratios are op ÷ baseline throughput ratios, one per round.
func (r *Report) Ratios(op, baseline string) []float64 {
	a, b := r.Results[op], r.Results[baseline]
	out := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		out = append(out, load.Ratio(a[i].PerSecond(), b[i].PerSecond()))
	}
	return out
}

// Errors lists the first error of every measurement that had any.
func (r *Report) Errors() []string {
	var out []string
	for _, op := range operations() {
		for round, m := range r.Results[op] {
			if m.Errors > 0 {
				out = append(out, fmt.Sprintf("round %d %s: %d errors, first: %v", round+1, op, m.Errors, m.FirstError))
			}
		}
	}
	return out
}

// Markdown renders the report: the summary with the sign-in ÷ bcrypt ratio, processor time
// per call, and every measurement.
func (r *Report) Markdown() string {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "%d concurrent clients, %d interleaved rounds of %s measured (+%s warm-up) per operation; bcrypt cost %d; GOMAXPROCS %d for both the service and the bcrypt baseline; %d users.\n\n",
		c.Concurrency, c.Rounds, c.Duration, c.Warmup, c.BcryptCost, r.GOMAXPROCS, c.Users)

	ratios := r.Ratios(SignIn, Bcrypt)
	b.WriteString("| operation | per second (median) | p50 | p99 | per round |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, op := range operations() {
		ms := r.Results[op]
		var rates, p50, p99 []float64
		for _, m := range ms {
			rates = append(rates, m.PerSecond())
			p50 = append(p50, float64(m.P50))
			p99 = append(p99, float64(m.P99))
		}
		fmt.Fprintf(&b, "| %s | %.1f | %s | %s | %s |\n", title(op), load.Median(rates),
			msf(load.Median(p50)), msf(load.Median(p99)), join(rates, "%.1f"))
	}
	fmt.Fprintf(&b, "\n**sign-ins/s ÷ bcrypt compares/s: %.2f** (median; per round %s)\n\n", load.Median(ratios), join(ratios, "%.2f"))

	b.WriteString("Processor time per call, ms (median over rounds; warm-up included; the bcrypt baseline runs in the load generator):\n\n")
	b.WriteString("| operation | load generator | goforward | PostgreSQL | total |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, op := range operations() {
		var self, gf, pg, total []float64
		for _, m := range r.Results[op] {
			n := float64(max(m.AllCalls, 1))
			self = append(self, float64(m.CPU.Self)/n)
			gf = append(gf, float64(m.CPU.Goforward)/n)
			pg = append(pg, float64(m.CPU.Postgres)/n)
			total = append(total, float64(m.CPU.Self+m.CPU.Goforward+m.CPU.Postgres)/n)
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.2f |\n", op,
			ms(load.Median(self)), ms(load.Median(gf)), ms(load.Median(pg)), ms(load.Median(total)))
	}

	b.WriteString("\n| round | operation | per second | p50 | p90 | p99 | max | calls | errors |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for round := range c.Rounds {
		for _, op := range operations() {
			if ms := r.Results[op]; round < len(ms) {
				m := ms[round]
				fmt.Fprintf(&b, "| %d | %s | %.1f | %s | %s | %s | %s | %d | %d |\n", round+1, op, m.PerSecond(),
					msf(float64(m.P50)), msf(float64(m.P90)), msf(float64(m.P99)), msf(float64(m.Max)), m.Requests, m.Errors)
			}
		}
	}
	for _, e := range r.Errors() {
		fmt.Fprintf(&b, "\n**error** %s\n", e)
	}
	return b.String()
}

func title(op string) string {
	switch op {
	case Bcrypt:
		return "bcrypt compare (baseline, in the load generator)"
	case SignIn:
		return "password sign-in (POST /token?grant_type=password)"
	default:
		return "token refresh (POST /token?grant_type=refresh_token)"
	}
}

// msf prints nanoseconds as milliseconds.
func msf(ns float64) string { return fmt.Sprintf("%.1f ms", ns/float64(time.Millisecond)) }

// ms converts nanoseconds to milliseconds.
func ms(ns float64) float64 { return ns / float64(time.Millisecond) }

func join(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, " / ")
}
