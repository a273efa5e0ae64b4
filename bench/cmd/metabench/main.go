// Command metabench measures /pg of a freshly built goforward on a seeded schema of many
// tables (bench/RESULTS.md, "Meta API"). Everything it starts listens on loopback only, and
// everything it writes is removed when it exits.
//
//	go run ./bench/cmd/metabench -tables 500 -columns 20 -rounds 30
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/metabench"
)

func main() {
	var cfg metabench.Config
	flag.IntVar(&cfg.Tables, "tables", 500, "tables to create")
	flag.IntVar(&cfg.Columns, "columns", 20, "columns per table, the primary key included")
	flag.IntVar(&cfg.Rounds, "rounds", 30, "measured requests per endpoint")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "metabench:", err)
		os.Exit(1)
	}
}

func run(cfg metabench.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stack, err := harness.Start(ctx, harness.Options{PoolSize: 4, Env: []string{
		"GOFORWARD_SERVICES=meta", "GOMAXPROCS=" + strconv.Itoa(runtime.GOMAXPROCS(0)),
	}})
	if err != nil {
		return err
	}
	defer stack.Close()
	start := time.Now()
	if err := metabench.Seed(ctx, stack.Direct, cfg); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeded in %s\n", time.Since(start).Round(time.Millisecond))
	cpu := func() (time.Duration, time.Duration, error) {
		t, err := stack.CPU()
		return t.Goforward, t.Postgres, err
	}
	results, err := metabench.Measure(ctx, stack.URL, stack.ServiceRoleKey, cfg, cpu)
	if err != nil {
		return err
	}
	fmt.Printf("%s UTC\n\n", time.Now().UTC().Format("2006-01-02 15:04"))
	metabench.Report(os.Stdout, cfg, results)
	return nil
}
