package auditbench

import (
	"fmt"
	"strings"
	"time"

	"github.com/goforward/goforward/bench/load"
)

// Ratios are audited ÷ plain writes/s, one per round.
func (r *Report) Ratios(audited, plain string) []float64 {
	a, b := r.Writes[audited], r.Writes[plain]
	out := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		out = append(out, load.Ratio(a[i].PerSecond(), b[i].PerSecond()))
	}
	return out
}

// Errors lists the first error of every write measurement that had any.
func (r *Report) Errors() []string {
	var out []string
	for _, v := range variants() {
		for round, m := range r.Writes[v] {
			if m.Errors > 0 {
				out = append(out, fmt.Sprintf("round %d %s: %d errors, first: %v", round+1, v, m.Errors, m.FirstError))
			}
		}
	}
	return out
}

// cpuPerWrite is the median over rounds of the processor time of every side per call.
func (r *Report) cpuPerWrite(v string) float64 {
	var total []float64
	for _, m := range r.Writes[v] {
		total = append(total, float64(m.CPU.Self+m.CPU.Goforward+m.CPU.Postgres)/float64(max(m.AllCalls, 1)))
	}
	return load.Median(total)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Markdown renders the report for bench/RESULTS.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "%d concurrent writers, %d interleaved rounds of %s measured (+%s warm-up) per variant; GOMAXPROCS %d; load average %.2f %.2f %.2f at the start",
		c.Concurrency, c.Rounds, c.Duration, c.Warmup, r.GOMAXPROCS, r.Load[0][0], r.Load[0][1], r.Load[0][2])
	if len(r.Load) > 1 {
		fmt.Fprintf(&b, ", %.2f %.2f %.2f at the end", r.Load[1][0], r.Load[1][1], r.Load[1][2])
	}
	b.WriteString(".\n\n")

	b.WriteString("| admin write | per second (median) | p50 | p99 | per round |\n|---|---|---|---|---|\n")
	for _, v := range variants() {
		var rates, p50, p99 []float64
		for _, m := range r.Writes[v] {
			rates = append(rates, m.PerSecond())
			p50 = append(p50, float64(m.P50))
			p99 = append(p99, float64(m.P99))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s |\n", v, load.Median(rates),
			time.Duration(load.Median(p50)).Round(10*time.Microsecond), time.Duration(load.Median(p99)).Round(10*time.Microsecond), join(rates, "%.0f"))
	}
	api, req, tx := r.Ratios(APIAudited, APIPlain), r.Ratios(RequestAudited, RequestPlain), r.Ratios(TxAudited, TxPlain)
	fmt.Fprintf(&b, "\n**audited ÷ plain, goforward's admin API (PUT /auth/v1/admin/users/{id}): %.2f** (median; per round %s)\n\n", load.Median(api), join(api, "%.2f"))
	fmt.Fprintf(&b, "**audited ÷ plain, admin-service-like request, entry queued with the change: %.2f** (median; per round %s)\n\n", load.Median(req), join(req, "%.2f"))
	fmt.Fprintf(&b, "audited ÷ plain, bare transaction: %.2f (median; per round %s)\n\n", load.Median(tx), join(tx, "%.2f"))
	b.WriteString("The same ratios from processor time per write (total of the table below, plain ÷ audited), which moves far less with the neighbours' load than throughput:")
	for _, pair := range [][2]string{{APIAudited, APIPlain}, {RequestAudited, RequestPlain}, {TxAudited, TxPlain}} {
		fmt.Fprintf(&b, " %s %.2f;", strings.TrimSuffix(pair[0], " audited"), load.Ratio(r.cpuPerWrite(pair[1]), r.cpuPerWrite(pair[0])))
	}
	b.WriteString("\n\n")
	var lags []string
	for _, l := range r.SealLag {
		lags = append(lags, l.Round(time.Millisecond).String())
	}
	fmt.Fprintf(&b, "Sealing kept up: after each audited measurement the last entry was chained %s later (the sealer looks every 500 ms).\n\n",
		strings.Join(lags, " / "))

	b.WriteString("Processor time per write, ms (median over rounds, warm-up included; the admin-service-like server runs in the load generator's process, where goforward only seals; the API variants run in goforward):\n\n")
	b.WriteString("| variant | load generator (+ admin-write server) | goforward | PostgreSQL | of which the sealer's backend | total |\n|---|---|---|---|---|---|\n")
	for _, v := range variants() {
		var self, gf, pg, sealer, total []float64
		for _, m := range r.Writes[v] {
			n := float64(max(m.AllCalls, 1))
			self = append(self, float64(m.CPU.Self)/n)
			gf = append(gf, float64(m.CPU.Goforward)/n)
			pg = append(pg, float64(m.CPU.Postgres)/n)
			sealer = append(sealer, float64(m.SealerBackend)/n)
			total = append(total, float64(m.CPU.Self+m.CPU.Goforward+m.CPU.Postgres)/n)
		}
		ms := func(x float64) float64 { return x / float64(time.Millisecond) }
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f |\n", v, ms(load.Median(self)), ms(load.Median(gf)),
			ms(load.Median(pg)), ms(load.Median(sealer)), ms(load.Median(total)))
	}

	if s := r.Seal; s != nil {
		fmt.Fprintf(&b, "\nBacklog: %d entries written in %s (one INSERT … SELECT), chained after its commit by the server's sealer in %s (%.0f entries/s).\n",
			s.Rows, s.Seed.Round(time.Millisecond), s.Sealed.Round(time.Millisecond), float64(s.Rows)/s.Sealed.Seconds())
	}
	if v := r.Verify; v != nil {
		fmt.Fprintf(&b, "GET /admin/v1/audit/verify: %d links in %s (%.0f/s), goforward peak RSS %s.\n",
			v.Checked, v.Took.Round(time.Millisecond), float64(v.Checked)/v.Took.Seconds(), mib(v.PeakRSS))
	}
	if len(r.Exports) > 0 {
		b.WriteString("\n| export | rows | size | time | rows/s | MB/s | RSS idle | peak RSS, first tenth | peak RSS, whole export |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, e := range r.Exports {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %.0f | %.1f | %s | %s | %s |\n", e.Format, e.Rows, mib(e.Bytes),
				e.Took.Round(time.Millisecond), float64(e.Rows)/e.Took.Seconds(), float64(e.Bytes)/1e6/e.Took.Seconds(),
				mib(e.IdleRSS), mib(e.PeakRSSTenth), mib(e.PeakRSS))
		}
	}

	b.WriteString("\n| round | variant | per second | p50 | p90 | p99 | max | calls | errors |\n|---|---|---|---|---|---|---|---|---|\n")
	for round := range c.Rounds {
		for _, v := range variants() {
			if ms := r.Writes[v]; round < len(ms) {
				m := ms[round]
				r10 := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
				fmt.Fprintf(&b, "| %d | %s | %.0f | %s | %s | %s | %s | %d | %d |\n", round+1, v, m.PerSecond(),
					r10(m.P50), r10(m.P90), r10(m.P99), r10(m.Max), m.Requests, m.Errors)
			}
		}
	}
	return b.String()
}

func join(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, " / ")
}
