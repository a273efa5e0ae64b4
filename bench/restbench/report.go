package restbench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goforward/goforward/bench/load"
)

// Ratios are one workload's variant ÷ baseline throughput ratios, one per round.
func (r *Report) Ratios(workload, variant, baseline string) []float64 {
	ours := r.Results[workload][variant]
	base := r.Results[workload][baseline]
	out := make([]float64, 0, len(ours))
	for i := range min(len(ours), len(base)) {
		out = append(out, load.Ratio(ours[i].PerSecond(), base[i].PerSecond()))
	}
	return out
}

// CPURatios are one workload's ratios of the total processor time per call (load generator,
// goforward, naive server and PostgreSQL together) of variant over baseline, one per round.
func (r *Report) CPURatios(workload, variant, baseline string) []float64 {
	a, b := r.Results[workload][variant], r.Results[workload][baseline]
	out := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		out = append(out, load.Ratio(float64(totalCPUPerCall(a[i])), float64(totalCPUPerCall(b[i]))))
	}
	return out
}

func totalCPUPerCall(m Measurement) time.Duration {
	per, naive := m.CPUPerCall()
	return per.Self + per.Goforward + per.Postgres + naive
}

// Markdown renders the report as tables: throughput and the median of per-round ratios,
// processor time per call, every measurement, and the SQL the service ran.
func (r *Report) Markdown() string {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "%d connections, %d interleaved rounds of %s measured (+%s warm-up) per variant; pools of %d connections; gzip %v.\n\n",
		c.Concurrency, c.Rounds, c.Duration, c.Warmup, c.DBConns, c.Gzip)

	wrk := slices.Contains(r.Variants, OursWrk)
	header := "| workload | ours req/s | naive req/s | direct req/s | bare req/s | ours ÷ direct, per round | **median** | CPU: direct ÷ ours | ours ÷ bare | naive ÷ direct | ours ÷ naive |"
	columns := 11
	if wrk {
		header += " ours·wrk req/s | naive·wrk req/s | ours·wrk ÷ direct | naive·wrk ÷ direct | ours·wrk ÷ naive·wrk |"
		columns += 5
	}
	b.WriteString(header + "\n|" + strings.Repeat("---|", columns) + "\n")
	for _, w := range r.Workloads {
		res := r.Results[w.Name]
		toDirect := r.Ratios(w.Name, Ours, Direct)
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %s | **%.2f** | %.2f | %.2f | %.2f | %.2f |", w.Title,
			medianRate(res[Ours]), medianRate(res[Naive]), medianRate(res[Direct]), medianRate(res[Bare]),
			joinRatios(toDirect), load.Median(toDirect), load.Median(r.CPURatios(w.Name, Direct, Ours)),
			load.Median(r.Ratios(w.Name, Ours, Bare)),
			load.Median(r.Ratios(w.Name, Naive, Direct)), load.Median(r.Ratios(w.Name, Ours, Naive)))
		if wrk {
			fmt.Fprintf(&b, " %.0f | %.0f | %.2f | %.2f | %.2f |", medianRate(res[OursWrk]), medianRate(res[NaiveWrk]),
				load.Median(r.Ratios(w.Name, OursWrk, Direct)), load.Median(r.Ratios(w.Name, NaiveWrk, Direct)),
				load.Median(r.Ratios(w.Name, OursWrk, NaiveWrk)))
		}
		b.WriteString("\n")
	}
	if len(r.Health) > 0 {
		fmt.Fprintf(&b, "| GET /health (HTTP and gateway, no database) | %.0f |%s\n", medianRate(r.Health), strings.Repeat(" |", columns-2))
	}
	b.WriteString("\nreq/s: median over rounds; the other ratio columns: medians of per-round ratios. " +
		"CPU: direct ÷ ours is the processor time a call costs everything on the machine (load generator, server, PostgreSQL) in direct over the same in ours: " +
		"the throughput ratio a CPU-bound machine would show without the neighbours' noise. " +
		"ours = the goforward binary over loopback HTTP; naive = a plain net/http + pgx server in a process of its own doing direct's database work (bench/cmd/naiveserver); " +
		"direct = the service's SQL through pgx with the role and claims settings pipelined exactly as the service sends them; " +
		"bare = the statement alone, prepared, as superuser.")
	if wrk {
		fmt.Fprintf(&b, " ours·wrk and naive·wrk = ours and naive with wrk (-t %d -c %d, the warm-up a run of its own) as the load generator instead of the Go client: "+
			"the same calls, headers and bodies; their load generator time is wrk's rusage plus this process's own. "+
			"direct and bare speak PostgreSQL's protocol, which wrk cannot, so the ·wrk ÷ direct ratios set wrk against the Go pgx client: "+
			"they show how much of the HTTP variants' distance from direct is the Go HTTP client's own cost on this 2-core box.", wrkThreads, c.Concurrency)
	}
	b.WriteString("\n\n")

	b.WriteString("Processor time per call, µs (median over rounds; warm-up included):\n\n")
	b.WriteString("| workload | variant | load generator | goforward | naive server | PostgreSQL | total |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, w := range r.Workloads {
		for _, v := range r.Variants {
			writeCPURow(&b, w.Name, v, r.Results[w.Name][v])
		}
	}
	writeCPURow(&b, "health", Ours, r.Health)

	b.WriteString("\n| round | workload | variant | req/s | p50 | p90 | p99 | max | calls | errors |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for round := range c.Rounds {
		for _, w := range r.Workloads {
			for _, v := range r.Variants {
				if results := r.Results[w.Name][v]; round < len(results) {
					writeResultRow(&b, round, w.Name, v, results[round].Result)
				}
			}
		}
		if round < len(r.Health) {
			writeResultRow(&b, round, "health", Ours, r.Health[round].Result)
		}
	}

	for _, e := range r.Errors() {
		fmt.Fprintf(&b, "\n**error** %s\n", e)
	}

	b.WriteString("\nSQL per request, from PostgreSQL's log (log_statement=all) while one request of each workload went through the service:\n")
	for _, s := range r.SQL {
		match := "matches the in-process Parse/Plan/Build the baselines send"
		if !s.Match {
			match = "**does not match** the in-process build: the baseline is not the service's SQL"
		}
		fmt.Fprintf(&b, "\n%s (%s):\n\n```sql\n", s.Workload, match)
		logged := s.Logged
		if len(logged) == 0 {
			logged = s.Built
		}
		for _, sql := range logged {
			b.WriteString(sql)
			b.WriteString(";\n")
		}
		b.WriteString("```\n")
	}
	return b.String()
}

// Errors lists the first error of every measurement that had any.
func (r *Report) Errors() []string {
	var out []string
	for _, w := range r.Workloads {
		for _, v := range r.Variants {
			for round, m := range r.Results[w.Name][v] {
				if m.Errors > 0 {
					out = append(out, fmt.Sprintf("round %d %s %s: %d errors, first: %v", round+1, w.Name, v, m.Errors, m.FirstError))
				}
			}
		}
	}
	for round, m := range r.Health {
		if m.Errors > 0 {
			out = append(out, fmt.Sprintf("round %d health: %d errors, first: %v", round+1, m.Errors, m.FirstError))
		}
	}
	return out
}

func writeResultRow(b *strings.Builder, round int, workload, variant string, res load.Result) {
	fmt.Fprintf(b, "| %d | %s | %s | %.0f | %s | %s | %s | %s | %d | %d |\n", round+1, workload, variant,
		res.PerSecond(), ms(res.P50), ms(res.P90), ms(res.P99), ms(res.Max), res.Requests, res.Errors)
}

func writeCPURow(b *strings.Builder, workload, variant string, ms []Measurement) {
	if len(ms) == 0 {
		return
	}
	var self, gf, naive, pg, total []float64
	for _, m := range ms {
		per, perNaive := m.CPUPerCall()
		self = append(self, us(per.Self))
		gf = append(gf, us(per.Goforward))
		naive = append(naive, us(perNaive))
		pg = append(pg, us(per.Postgres))
		total = append(total, us(totalCPUPerCall(m)))
	}
	fmt.Fprintf(b, "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f |\n", workload, variant,
		load.Median(self), load.Median(gf), load.Median(naive), load.Median(pg), load.Median(total))
}

func medianRate(ms []Measurement) float64 {
	rates := make([]float64, len(ms))
	for i, m := range ms {
		rates[i] = m.PerSecond()
	}
	return load.Median(rates)
}

func joinRatios(ratios []float64) string {
	parts := make([]string, len(ratios))
	for i, x := range ratios {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " / ")
}

// ms prints a latency in milliseconds with two decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
