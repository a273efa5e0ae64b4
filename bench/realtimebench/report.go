package realtimebench

import (
	"fmt"
	"strings"
	"time"

	"github.com/goforward/goforward/bench/harness"
)

// Markdown renders the report's three tables.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("### postgres_changes: insert commit → delivery\n\n")
	b.WriteString("| table | RLS | subscribers | inserts/s | inserts | delivered / expected | deliveries/s | drop notices | p50 | p95 | p99 | max | CPU s goforward / postgres / generator | error |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range r.Changes {
		fmt.Fprintf(&b, "| %s | %s | %d | %g | %d | %d / %d | %.0f | %d | %s | %s | %s | %s | %s | %s |\n",
			c.Table, yesNo(c.RLS), c.Subscribers, c.Rate, c.Inserts, c.Delivered, c.Expected, c.PerSecond, c.DropNotices, ms(c.P50), ms(c.P95), ms(c.P99), ms(c.Max), cpu(c.CPU), errText(c.Err))
	}
	if len(r.Conns) == 0 && len(r.Broadcast) == 0 {
		return b.String()
	}
	b.WriteString("\n### Concurrent WebSockets (each joined to a channel)\n\n")
	b.WriteString("| target | open | goforward RSS before | RSS after | bytes / connection | time to open the added ones | error |\n|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range r.Conns {
		fmt.Fprintf(&b, "| %d | %d | %.1f MiB | %.1f MiB | %d (%.1f KiB) | %s | %s |\n",
			c.Target, c.Open, mib(c.RSSBefore), mib(c.RSSAfter), c.PerConn, float64(c.PerConn)/1024, c.OpenTime.Round(time.Millisecond), errText(c.Err))
	}
	b.WriteString("\n### Broadcast fan-out (one sender, messages sent back to back)\n\n")
	b.WriteString("| subscribers | messages | delivered / expected | elapsed | deliveries/s | send→delivery p50 | p99 | CPU s goforward / postgres / generator | error |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range r.Broadcast {
		fmt.Fprintf(&b, "| %d | %d | %d / %d | %s | %.0f | %s | %s | %s | %s |\n",
			c.Subscribers, c.Messages, c.Delivered, c.Expected, c.Elapsed.Round(time.Millisecond), c.PerSecond, ms(c.P50), ms(c.P99), cpu(c.CPU), errText(c.Err))
	}
	return b.String()
}

// Errors lists the errors of every measurement.
func (r Report) Errors() []error {
	var errs []error
	for _, c := range r.Changes {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	for _, c := range r.Conns {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	for _, c := range r.Broadcast {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	return errs
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func cpu(t harness.CPUTimes) string {
	return fmt.Sprintf("%.1f / %.1f / %.1f", t.Goforward.Seconds(), t.Postgres.Seconds(), t.Self.Seconds())
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "|", "/")
}
