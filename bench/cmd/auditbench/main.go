// Command auditbench measures what the audit log costs a freshly built goforward: admin
// writes with and without their audit entry, the sealer's pace, verification, and the export
// of a large log with the server's memory sampled; it prints markdown for bench/RESULTS.md.
// Everything it starts listens on loopback only and is removed when it exits.
//
//	go run ./bench/cmd/auditbench -rounds 3 -duration 10s -c 32 -export-rows 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/goforward/goforward/bench/auditbench"
	"github.com/goforward/goforward/bench/harness"
)

func main() {
	var cfg auditbench.Config
	flag.IntVar(&cfg.Concurrency, "c", 32, "concurrent writers")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time of each write measurement (at most 1m)")
	flag.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured warm-up before each (at most 10s; negative: none)")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "interleaved rounds (at most 20)")
	flag.IntVar(&cfg.ExportRows, "export-rows", 1_000_000, "entries in the exported log (at most 5,000,000; negative: no export)")
	flag.Parse()
	if cfg.Duration > time.Minute || cfg.Warmup > 10*time.Second || cfg.Rounds > 20 || cfg.Concurrency > 256 || cfg.ExportRows > 5_000_000 {
		fmt.Fprintln(os.Stderr, "auditbench: -duration ≤ 1m, -warmup ≤ 10s, -rounds ≤ 20, -c ≤ 256 and -export-rows ≤ 5,000,000 keep a run bounded")
		os.Exit(2)
	}
	cfg.Progress = os.Stderr
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "auditbench:", err)
		os.Exit(1)
	}
}

func run(cfg auditbench.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stack, err := harness.Start(ctx, auditbench.StackOptions(cfg))
	if err != nil {
		return err
	}
	defer stack.Close()
	started := time.Now().UTC()
	report, err := auditbench.Run(ctx, stack, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("auditbench: %s – %s\n\n", started.Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
	fmt.Print(report.Markdown())
	if errs := report.Errors(); len(errs) > 0 {
		return fmt.Errorf("%d measurements had errors", len(errs))
	}
	return nil
}
