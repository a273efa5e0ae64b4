// Command restbench measures /rest/v1 of a freshly built goforward against the floor
// PostgreSQL sets for the same SQL, and prints the results as markdown (see bench/RESULTS.md).
// The HTTP variants run twice: with a Go client in this process and with wrk, when it is on
// PATH (-wrk=false leaves wrk out).
// Everything it starts listens on loopback only and is removed when it exits.
//
//	go run ./bench/cmd/restbench -rounds 3 -duration 5s -c 32
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/restbench"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "serve-hand" {
		if err := serveHand(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "restbench serve-hand:", err)
			os.Exit(1)
		}
		return
	}
	var (
		hand    bool
		hold    bool
		binary  string
		perfDir string
		cfg     restbench.Config
		only    string
		wrk     bool
	)
	flag.IntVar(&cfg.Concurrency, "c", 32, "concurrent connections (and pgx workers)")
	flag.DurationVar(&cfg.Duration, "duration", 4*time.Second, "measured time of each measurement (at most 1m)")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured warm-up before each measurement (at most 10s; negative: none)")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "interleaved rounds (at most 20)")
	flag.IntVar(&cfg.Authors, "authors", 1000, "authors to seed, each with 100 posts")
	flag.IntVar(&cfg.DBConns, "db-conns", 0, "size of the service's request pool and of the baseline's pool; 0 = 4 × GOMAXPROCS, the service's default")
	flag.BoolVar(&cfg.Gzip, "gzip", false, "let the HTTP client send Accept-Encoding: gzip, as browsers do")
	flag.BoolVar(&wrk, "wrk", true, "also measure ours and naive with wrk as the load generator (skipped, with a note, when wrk is not on PATH)")
	flag.StringVar(&only, "only", "", "comma-separated workloads to run: pk, list100, embed, insert (default all)")
	flag.BoolVar(&hand, "hand", false, "measure against the hand-written net/http + pgx server instead (issue 18; wrk only)")
	flag.StringVar(&perfDir, "perf", "", "with -hand: record perf profiles of goforward into this directory after the rounds")
	flag.BoolVar(&hold, "hold", false, "with -hand: seed, print the servers and wrk commands, and wait for ^C (for profiling by hand)")
	flag.StringVar(&binary, "goforward", "", "with -hand: run this goforward binary instead of building one from this checkout (to measure an older commit)")
	flag.Parse()
	if cfg.Duration > time.Minute || cfg.Warmup > 10*time.Second || cfg.Rounds > 20 || cfg.Concurrency > 1024 {
		fmt.Fprintln(os.Stderr, "restbench: -duration ≤ 1m, -warmup ≤ 10s, -rounds ≤ 20 and -c ≤ 1024 keep a run bounded")
		os.Exit(2)
	}
	cfg.NoWrk = !wrk
	if only != "" {
		cfg.Only = strings.Split(only, ",")
	}
	cfg.Progress = os.Stderr
	if hand {
		if err := runHand(cfg, perfDir, hold, binary); err != nil {
			fmt.Fprintln(os.Stderr, "restbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "restbench:", err)
		os.Exit(1)
	}
}

func run(cfg restbench.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stack, err := harness.Start(ctx, restbench.StackOptions(cfg))
	if err != nil {
		return err
	}
	defer stack.Close()
	report, err := restbench.Run(ctx, stack, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("restbench: GOMAXPROCS %d, %s\n\n", runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	fmt.Print(report.Markdown())
	if errs := report.Errors(); len(errs) > 0 {
		return fmt.Errorf("%d measurements had errors", len(errs))
	}
	return nil
}

func runHand(cfg restbench.Config, perfDir string, hold bool, binary string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	opts := restbench.StackOptions(cfg)
	opts.Binary = binary
	stack, err := harness.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer stack.Close()
	poolSize := int32(cfg.DBConns)
	if poolSize == 0 {
		poolSize = int32(4 * runtime.GOMAXPROCS(0))
	}
	report, err := restbench.RunHand(ctx, stack, restbench.HandConfig{
		Concurrency: cfg.Concurrency, Duration: cfg.Duration, Warmup: cfg.Warmup, Rounds: cfg.Rounds,
		PoolSize: poolSize, Only: cfg.Only, Executable: exe, PerfDir: perfDir, Hold: hold, Progress: os.Stderr,
	})
	if err != nil {
		return err
	}
	fmt.Printf("restbench -hand: GOMAXPROCS %d\n\n", runtime.GOMAXPROCS(0))
	fmt.Print(report.Markdown())
	if errs := report.Errors(); len(errs) > 0 {
		return fmt.Errorf("%d measurements had errors: %s", len(errs), strings.Join(errs, "; "))
	}
	return nil
}

// serveHand is the hand-written baseline's process (see restbench.ServeHand): it prints its
// URL on one line and serves until SIGTERM.
func serveHand(databaseURL, poolSize string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	size, err := strconv.Atoi(poolSize)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", ln.Addr())
	return restbench.ServeHand(ctx, databaseURL, int32(size), ln)
}
