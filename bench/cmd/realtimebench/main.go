// Command realtimebench measures /realtime/v1 of a freshly built goforward on loopback and
// prints the results as markdown (see bench/RESULTS.md, issue 6). Everything it starts
// listens on loopback only and is removed when it exits.
//
//	go run ./bench/cmd/realtimebench
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
	"github.com/goforward/goforward/bench/realtimebench"
)

func main() {
	var (
		cfg                 realtimebench.Config
		subs, conns, fanout string
		binary, tables      string
		rates               string
	)
	flag.StringVar(&subs, "subscribers", "1,100,1000", "postgres_changes subscriber counts")
	flag.StringVar(&tables, "tables", "plain,rls", "postgres_changes tables: plain (no RLS), rls")
	flag.IntVar(&cfg.Inserts, "inserts", 200, "measured inserts per postgres_changes cell (at most 10000)")
	flag.Float64Var(&cfg.InsertRate, "rate", 20, "inserts per second")
	flag.StringVar(&rates, "rates", "", "comma-separated insert rates: one postgres_changes cell per subscriber count and rate (default -rate)")
	flag.Float64Var(&cfg.Seconds, "seconds", 0, "when set, each postgres_changes cell inserts for this many seconds (rate × seconds rows, at most 10000) instead of -inserts")
	flag.BoolVar(&cfg.OnlyChanges, "only-changes", false, "measure postgres_changes only")
	flag.DurationVar(&cfg.DrainTimeout, "drain", 30*time.Second, "longest wait for outstanding deliveries after the last insert (at most 2m)")
	flag.StringVar(&conns, "connections", "1000,10000", "connection counts, opened cumulatively")
	flag.StringVar(&fanout, "fanout", "100,1000", "broadcast subscriber counts")
	flag.IntVar(&cfg.BroadcastDeliveries, "deliveries", 200000, "deliveries per fan-out row (at most 2000000)")
	flag.StringVar(&binary, "binary", "", "goforward binary to run instead of building one from this checkout")
	flag.Parse()
	var err error
	if cfg.Subscribers, err = ints(subs); err == nil {
		if cfg.Connections, err = ints(conns); err == nil {
			cfg.Fanout, err = ints(fanout)
		}
	}
	for f := range strings.SplitSeq(rates, ",") {
		if f = strings.TrimSpace(f); f == "" || err != nil {
			continue
		}
		r, perr := strconv.ParseFloat(f, 64)
		if perr != nil || r <= 0 || r > 2000 {
			err = fmt.Errorf("bad rate %q", f)
			continue
		}
		cfg.Rates = append(cfg.Rates, r)
	}
	if err != nil || cfg.Inserts > 10000 || cfg.BroadcastDeliveries > 2000000 || cfg.Seconds > 120 || cfg.DrainTimeout > 2*time.Minute {
		fmt.Fprintln(os.Stderr, "realtimebench: counts are comma-separated integers, rates numbers ≤ 2000; -inserts ≤ 10000, -seconds ≤ 120, -drain ≤ 2m and -deliveries ≤ 2000000 keep a run bounded")
		os.Exit(2)
	}
	cfg.Tables = strings.Split(tables, ",")
	cfg.Progress = os.Stderr
	if err := run(cfg, binary); err != nil {
		fmt.Fprintln(os.Stderr, "realtimebench:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 50000 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(cfg realtimebench.Config, binary string) error {
	// Every WebSocket is a descriptor on both ends: raise the soft limit to the hard one
	// before starting goforward, which inherits it.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise RLIMIT_NOFILE: %w", err)
	}
	cfg.FDLimit = lim.Cur
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := realtimebench.StackOptions(cfg)
	opts.Binary = binary
	stack, err := harness.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer stack.Close()
	started := time.Now().UTC()
	report, err := realtimebench.Run(ctx, stack, cfg)
	if err != nil {
		return err
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("realtimebench: GOMAXPROCS %d, started %s, finished %s, RLIMIT_NOFILE %d, load average at end %s\n\n",
		runtime.GOMAXPROCS(0), started.Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339), cfg.FDLimit, strings.TrimSpace(string(load)))
	fmt.Print(report.Markdown())
	if errs := report.Errors(); len(errs) > 0 {
		return fmt.Errorf("%d measurements had errors", len(errs))
	}
	return nil
}
