// Command storagebench measures /storage/v1 of a freshly built goforward: upload and download
// throughput of objects at a few sizes and client counts over loopback, next to a plain file
// copy of the same bytes on the same disk, and goforward's peak resident memory; it prints
// the results as markdown (see bench/RESULTS.md). Everything it starts listens on loopback
// only, and everything it writes is removed when it exits.
//
//	go run ./bench/cmd/storagebench -sizes 1MiB,100MiB -clients 1,16 -cell-mib 400
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/storagebench"
)

func main() {
	var (
		sizes   = flag.String("sizes", "1MiB,100MiB", "comma-separated object sizes, each a number of KiB or MiB (64KiB, 1MiB)")
		clients = flag.String("clients", "1,16", "comma-separated client counts")
		cellMiB = flag.Int64("cell-mib", 400, "about how many MiB each cell uploads (at least one object per client)")
	)
	flag.Parse()
	cfg := storagebench.Config{CellBytes: *cellMiB * storagebench.MiB, Progress: os.Stderr}
	var err error
	if cfg.Sizes, err = parseSizes(*sizes); err == nil {
		cfg.Clients, err = parseInts(*clients)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "storagebench:", err)
		os.Exit(2)
	}
	if *cellMiB <= 0 || *cellMiB > 4096 {
		fmt.Fprintln(os.Stderr, "storagebench: 0 < -cell-mib ≤ 4096 keeps a run bounded")
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "storagebench:", err)
		os.Exit(1)
	}
}

func run(cfg storagebench.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stack, err := harness.Start(ctx, storagebench.StackOptions(cfg))
	if err != nil {
		return err
	}
	defer stack.Close()
	started := time.Now().UTC()
	report, err := storagebench.Run(ctx, stack, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("storagebench: GOMAXPROCS %d, %s to %s\n\n", runtime.GOMAXPROCS(0), started.Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
	fmt.Print(report.Markdown())
	return nil
}

// parseSizes reads sizes such as "64KiB,1MiB,100MiB"; the unit is required and there is a
// 1 GiB ceiling, above which one object would not be a benchmark of this machine any more.
func parseSizes(s string) ([]int64, error) {
	var out []int64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		unit := int64(0)
		switch {
		case strings.HasSuffix(part, "MiB"):
			unit = storagebench.MiB
		case strings.HasSuffix(part, "KiB"):
			unit = 1 << 10
		default:
			return nil, fmt.Errorf("size %q: give KiB or MiB", part)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(part[:len(part)-3]), 10, 64)
		if err != nil || n <= 0 || n > (1<<30)/unit {
			return nil, fmt.Errorf("size %q: want a positive number up to 1 GiB", part)
		}
		out = append(out, n*unit)
	}
	return out, nil
}

// parseInts reads client counts such as "1,16", each between 1 and 256.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 256 {
			return nil, fmt.Errorf("client count %q: want 1 to 256", part)
		}
		out = append(out, n)
	}
	return out, nil
}
