package storagebench

import (
	"fmt"
	"strings"
	"time"
)

// mbPerSecond is bytes moved per second in MB (10^6 bytes), as disks and networks are rated.
func mbPerSecond(bytes int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / elapsed.Seconds()
}

// ratio is a ÷ b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// formatSize prints a size in the largest binary unit that divides it: "1 MiB", "100 MiB",
// "64 KiB", "1000 B".
func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= MiB && n%MiB == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// mib prints bytes in MiB with no decimals.
func mib(n int64) string {
	return fmt.Sprintf("%.0f", float64(n)/MiB)
}

// cpuPerGB is processor time in seconds per GB (10^9 bytes) moved.
func cpuPerGB(d time.Duration, bytes int64) float64 {
	if bytes == 0 {
		return 0
	}
	return d.Seconds() / (float64(bytes) / 1e9)
}

// Markdown renders the report as a table with one row per cell, then processor time.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("| object | clients | objects (bytes per phase) | upload MB/s | file write MB/s | **upload ÷ write** | download MB/s | file read MB/s | **download ÷ read** | goforward peak RSS, MiB |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.Cells {
		up, write := mbPerSecond(c.Bytes(), c.Upload), mbPerSecond(c.Bytes(), c.CopyWrite)
		down, read := mbPerSecond(c.Bytes(), c.Download), mbPerSecond(c.Bytes(), c.CopyRead)
		fmt.Fprintf(&b, "| %s | %d | %d (%s MiB) | %.0f | %.0f | **%.2f** | %.0f | %.0f | **%.2f** | %s |\n",
			formatSize(c.Size), c.Clients, c.Objects, mib(c.Bytes()), up, write, ratio(up, write), down, read, ratio(down, read), mib(c.PeakRSS))
	}
	peakNote := "peak over the cell alone (VmHWM reset before each cell)"
	if !r.PeakPerCell {
		peakNote = "peak since goforward started (the kernel refused to reset VmHWM)"
	}
	fmt.Fprintf(&b, "\ngoforward's resident memory: %s MiB idle before the first cell; peak RSS column: %s.\n\n", mib(r.IdleRSS), peakNote)

	b.WriteString("Processor time per GB moved, seconds (goforward / its PostgreSQL), and goforward's RSS after each cell:\n\n")
	b.WriteString("| object | clients | upload: goforward | upload: PostgreSQL | download: goforward | download: PostgreSQL | RSS after cell, MiB |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, c := range r.Cells {
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %s |\n", formatSize(c.Size), c.Clients,
			cpuPerGB(c.UploadCPU.Goforward, c.Bytes()), cpuPerGB(c.UploadCPU.Postgres, c.Bytes()),
			cpuPerGB(c.DownloadCPU.Goforward, c.Bytes()), cpuPerGB(c.DownloadCPU.Postgres, c.Bytes()), mib(c.EndRSS))
	}
	return b.String()
}
