// Command querybench measures the guarded SQL runner, POST /pg/query, against the same query
// run through pgx, over HTTP by a plain server and directly (bench/querybench;
// bench/RESULTS.md, "SQL runner"). Everything it starts listens on loopback only, and
// everything it writes is removed when it exits.
//
//	go run ./bench/cmd/querybench -concurrency 16 -duration 5s -rounds 5
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/querybench"
)

type options struct {
	concurrency int
	conns       int
	duration    time.Duration
	rounds      int
	latency     int
	plainServer string // internal: serve the plain server on this database
	plainAudit  bool   // internal: the plain server audits every request
}

func main() {
	var o options
	flag.IntVar(&o.concurrency, "concurrency", 16, "requests in flight at once")
	flag.IntVar(&o.conns, "conns", 8, "database connections of each target (sql.max_conns for goforward)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of one throughput round")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds per target and query, alternating targets")
	flag.IntVar(&o.latency, "latency", 500, "sequential requests for the single-client median")
	flag.StringVar(&o.plainServer, "plain-server", "", "internal: run as the plain server on this database URL")
	flag.BoolVar(&o.plainAudit, "plain-audit", false, "internal: the plain server commits an audit entry per request")
	flag.Parse()
	var err error
	if o.plainServer != "" {
		err = plain(o)
	} else {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "querybench:", err)
		os.Exit(1)
	}
}

// plain serves the plain server and prints its URL on stdout.
func plain(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := pgxpool.ParseConfig(o.plainServer)
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(o.conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", ln.Addr())
	return querybench.ServePlain(ctx, pool, ln, o.plainAudit)
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	procs := strconv.Itoa(runtime.GOMAXPROCS(0))
	stack, err := harness.Start(ctx, harness.Options{PoolSize: int32(o.conns), Env: []string{
		"GOFORWARD_SERVICES=meta", "GOMAXPROCS=" + procs, "GOFORWARD_SQL_MAX_CONNS=" + strconv.Itoa(o.conns),
	}})
	if err != nil {
		return err
	}
	defer stack.Close()
	if _, err := stack.Direct.Exec(ctx, querybench.SeedSQL); err != nil {
		return err
	}
	plainURL, plainPID, stopPlain, err := startPlain(ctx, stack.Direct.Config().ConnString(), o, procs, false)
	if err != nil {
		return err
	}
	defer stopPlain()
	auditedURL, auditedPID, stopAudited, err := startPlain(ctx, stack.Direct.Config().ConnString(), o, procs, true)
	if err != nil {
		return err
	}
	defer stopAudited()

	// The same audited target on connections that commit without waiting for the WAL flush:
	// what the audit entry costs apart from its fsync.
	asyncCfg := stack.Direct.Config().Copy()
	asyncCfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	asyncPool, err := pgxpool.NewWithConfig(ctx, asyncCfg)
	if err != nil {
		return err
	}
	defer asyncPool.Close()

	client := querybench.NewClient(o.concurrency)
	targets := []querybench.Target{
		querybench.HTTPTarget("ours", stack.URL+"/pg/query", http.Header{"Authorization": {"Bearer " + stack.ServiceRoleKey}}, client),
		querybench.HTTPTarget("plain", plainURL+"/query", http.Header{}, client),
		querybench.HTTPTarget("plain + audit", auditedURL+"/query", http.Header{}, client),
		querybench.DirectTarget(stack.Direct),
		querybench.GuardedTarget("direct + classify", stack.Direct, false),
		querybench.GuardedTarget("direct + classify + audit", stack.Direct, true),
		querybench.GuardedTarget("direct + classify + audit, async commit", asyncPool, true),
	}
	cpuOf := map[string]func() (server, postgres time.Duration, err error){
		"ours": func() (time.Duration, time.Duration, error) {
			t, err := stack.CPU()
			return t.Goforward, t.Postgres, err
		},
		"plain": func() (time.Duration, time.Duration, error) {
			t, err := stack.CPU()
			if err != nil {
				return 0, 0, err
			}
			p, err := harness.ProcessCPU(plainPID)
			return p, t.Postgres, err
		},
		"plain + audit": func() (time.Duration, time.Duration, error) {
			t, err := stack.CPU()
			if err != nil {
				return 0, 0, err
			}
			p, err := harness.ProcessCPU(auditedPID)
			return p, t.Postgres, err
		},
	}

	fmt.Printf("%s UTC, load average at start %s\n\n", time.Now().UTC().Format("2006-01-02 15:04"), querybench.LoadAverage())
	fmt.Printf("`go run ./bench/cmd/querybench -concurrency %d -conns %d -duration %s -rounds %d -latency %d`, GOMAXPROCS=%s\n\n",
		o.concurrency, o.conns, o.duration, o.rounds, o.latency, procs)
	fmt.Println("| query | target | req/s (median of rounds) | per round | CPU per request (server + PostgreSQL) | p50, one client | ÷ direct | ÷ plain | ÷ plain + audit |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	var loads []string
	for _, q := range querybench.Queries {
		perRound := map[string][]float64{}
		cpu := map[string][2]time.Duration{}
		requests := map[string]float64{}
		for _, t := range targets {
			// Warm up: connections, caches, prepared plans.
			if _, _, err := querybench.Throughput(ctx, t, q.SQL, o.concurrency, time.Second); err != nil {
				return err
			}
		}
		for range o.rounds {
			for _, t := range targets {
				var server0, pg0 time.Duration
				if f := cpuOf[t.Name]; f != nil {
					if server0, pg0, err = f(); err != nil {
						return err
					}
				}
				rate, n, err := querybench.Throughput(ctx, t, q.SQL, o.concurrency, o.duration)
				if err != nil {
					return err
				}
				if f := cpuOf[t.Name]; f != nil {
					server1, pg1, err := f()
					if err != nil {
						return err
					}
					c := cpu[t.Name]
					cpu[t.Name] = [2]time.Duration{c[0] + server1 - server0, c[1] + pg1 - pg0}
					requests[t.Name] += float64(n)
				}
				perRound[t.Name] = append(perRound[t.Name], rate)
				loads = append(loads, querybench.LoadAverage())
			}
		}
		// ratio is the median over rounds of a target's rate over another's in the same round.
		ratio := func(of, to string) string {
			if of == to {
				return "—"
			}
			var r []float64
			for i := range perRound[of] {
				r = append(r, perRound[of][i]/perRound[to][i])
			}
			return fmt.Sprintf("%.2f", median(r))
		}
		for _, t := range targets {
			p50, err := querybench.Latency(ctx, t, q.SQL, o.latency)
			if err != nil {
				return err
			}
			rounds := perRound[t.Name]
			cpuCell := "—"
			if n := requests[t.Name]; n > 0 {
				c := cpu[t.Name]
				cpuCell = fmt.Sprintf("%.0f µs (%.0f + %.0f)", float64((c[0]+c[1]).Microseconds())/n,
					float64(c[0].Microseconds())/n, float64(c[1].Microseconds())/n)
			}
			fmt.Printf("| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n", q.Name, t.Name, median(rounds), join(rounds), cpuCell,
				p50.Round(time.Microsecond), ratio(t.Name, "direct"), ratio(t.Name, "plain"), ratio(t.Name, "plain + audit"))
		}
	}
	fmt.Printf("\nload average (1 min) after each round: %s\n", strings.Join(loads, ", "))
	return nil
}

// startPlain starts this program as the plain server on dbURL, auditing every request when
// audited.
func startPlain(ctx context.Context, dbURL string, o options, procs string, audited bool) (string, int, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-plain-server", dbURL, "-conns", strconv.Itoa(o.conns), "-plain-audit="+strconv.FormatBool(audited))
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+procs)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("plain server: %w", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid, stop, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func join(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, " / ")
}
