// Command authbench measures /auth/v1 password sign-in and token refresh of a freshly built
// goforward next to raw bcrypt comparisons at the same cost, and prints the results as
// markdown (see bench/RESULTS.md). Everything it starts listens on loopback only and is
// removed when it exits.
//
//	go run ./bench/cmd/authbench -rounds 3 -duration 10s -c 32
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/goforward/goforward/bench/authbench"
	"github.com/goforward/goforward/bench/harness"
)

func main() {
	var cfg authbench.Config
	flag.IntVar(&cfg.Concurrency, "c", 32, "concurrent clients")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time of each measurement (at most 1m)")
	flag.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured warm-up before each measurement (at most 10s; negative: none)")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "interleaved rounds (at most 20)")
	flag.IntVar(&cfg.Users, "users", 0, "users to sign up first (at most 10000); 0 = 4 × -c")
	flag.IntVar(&cfg.BcryptCost, "cost", 10, "bcrypt cost of the service and of the baseline (4 to 14)")
	flag.Parse()
	if cfg.Duration > time.Minute || cfg.Warmup > 10*time.Second || cfg.Rounds > 20 || cfg.Concurrency > 1024 ||
		cfg.Users > 10000 || cfg.BcryptCost < 4 || cfg.BcryptCost > 14 {
		fmt.Fprintln(os.Stderr, "authbench: -duration ≤ 1m, -warmup ≤ 10s, -rounds ≤ 20, -c ≤ 1024, -users ≤ 10000 and 4 ≤ -cost ≤ 14 keep a run bounded")
		os.Exit(2)
	}
	cfg.Progress = os.Stderr
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "authbench:", err)
		os.Exit(1)
	}
}

func run(cfg authbench.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stack, err := harness.Start(ctx, authbench.StackOptions(cfg))
	if err != nil {
		return err
	}
	defer stack.Close()
	report, err := authbench.Run(ctx, stack, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("authbench: %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Print(report.Markdown())
	if errs := report.Errors(); len(errs) > 0 {
		return fmt.Errorf("%d measurements had errors", len(errs))
	}
	return nil
}
