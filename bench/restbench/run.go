package restbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/load"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/meta"
)

// Config bounds a run. Zero values mean the stated defaults.
type Config struct {
	Concurrency int // concurrent connections / workers; default 32
	// Duration is the measured time of each measurement; default 4s. Warmup is unmeasured
	// time before each measurement; default 1s, negative none. wrk takes whole seconds: the
	// wrk variants round both up.
	Duration time.Duration
	Warmup   time.Duration
	Rounds   int // interleaved rounds; default 3
	Authors  int // seeded authors (each with PostsPerAuthor posts); default 1000
	// DBConns is the size of both the service's request pool and the baseline's pool;
	// default 4 × GOMAXPROCS, the service's own default.
	DBConns int
	// Gzip makes the HTTP client send Accept-Encoding: gzip, as browsers do, so that the
	// gateway may compress the responses. Default off: PostgreSQL's side of the comparison
	// compresses nothing.
	Gzip bool
	// NoWrk leaves out the wrk variants (OursWrk, NaiveWrk). Default false: they are
	// measured whenever wrk is on PATH.
	NoWrk bool
	// Only limits the run to the named workloads; empty runs them all.
	Only []string
	// Progress receives a line per measurement as the run goes. Nil: discarded.
	Progress io.Writer
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.Duration <= 0 {
		c.Duration = 4 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Rounds <= 0 {
		c.Rounds = 3
	}
	if c.Authors <= 0 {
		c.Authors = 1000
	}
	if c.DBConns <= 0 {
		c.DBConns = 4 * runtime.GOMAXPROCS(0)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// StackOptions are the harness options a run with cfg needs: the same pool size on both
// sides, the service settings the in-process planner assumes, and the REST service alone
// (realtime would otherwise decode the WAL every insert writes, on both sides' account).
func StackOptions(cfg Config) harness.Options {
	cfg = cfg.withDefaults()
	return harness.Options{
		PoolSize: int32(cfg.DBConns),
		Env: []string{
			"GOFORWARD_SERVICES=rest",
			"GOFORWARD_DATABASE_MAX_CONNS=" + strconv.Itoa(cfg.DBConns),
			"GOFORWARD_REST_MAX_ROWS=" + strconv.Itoa(MaxRows),
			"GOFORWARD_DATABASE_STATEMENT_TIMEOUT_ANON=" + statementTimeouts().Anon.String(),
			"GOMAXPROCS=" + strconv.Itoa(runtime.GOMAXPROCS(0)),
		},
	}
}

// statementTimeouts are the per-role timeouts of the configuration defaults, which the
// benchmark also passes to the service, so both sides send the same statement_timeout.
func statementTimeouts() db.StatementTimeouts {
	return db.StatementTimeouts{Anon: 3 * time.Second, Authenticated: 8 * time.Second}
}

// Report is everything a run measured.
type Report struct {
	Config    Config
	Workloads []Workload
	// Variants are the variants measured, in report order.
	Variants []string
	// SQL is what the server's log shows the service executed, per workload.
	SQL []CapturedSQL
	// Results holds, per workload and variant, one measurement per round.
	Results map[string]map[string][]Measurement
	// Health is GET /health per round: HTTP and the gateway without the database.
	Health []Measurement
}

// Measurement is one variant of one workload in one round.
type Measurement struct {
	load.Result
	// CPU is the processor time each side used over the whole measurement, warm-up included.
	// For the wrk variants Self is wrk's processor time plus this process's own (idle).
	CPU harness.CPUTimes
	// NaiveCPU is the naive server's share of it.
	NaiveCPU time.Duration
}

// CPUPerCall is CPU and NaiveCPU spread over every call made.
func (m Measurement) CPUPerCall() (harness.CPUTimes, time.Duration) {
	n := time.Duration(max(m.AllCalls, 1))
	return harness.CPUTimes{Goforward: m.CPU.Goforward / n, Postgres: m.CPU.Postgres / n, Self: m.CPU.Self / n}, m.NaiveCPU / n
}

// loadRun generates one measurement's load. It returns the processor time a load generator
// outside this process used (wrk), zero when this process is the load generator.
type loadRun func(ctx context.Context) (load.Result, time.Duration, error)

// inProcess is the loadRun of op under lc.
func inProcess(lc load.Config, op load.Op) loadRun {
	return func(ctx context.Context) (load.Result, time.Duration, error) {
		return load.Run(ctx, lc, op), 0, nil
	}
}

// measure runs run and records the processor time every side used meanwhile.
func measure(ctx context.Context, stack *harness.Stack, naive *naiveProcess, run loadRun) (Measurement, error) {
	before, err := stack.CPU()
	if err != nil {
		return Measurement{}, err
	}
	naiveBefore, err := naive.cpu()
	if err != nil {
		return Measurement{}, err
	}
	res, external, err := run(ctx)
	if err != nil {
		return Measurement{}, err
	}
	after, err := stack.CPU()
	if err != nil {
		return Measurement{}, err
	}
	naiveAfter, err := naive.cpu()
	if err != nil {
		return Measurement{}, err
	}
	cpu := after.Sub(before)
	cpu.Self += external
	return Measurement{Result: res, CPU: cpu, NaiveCPU: naiveAfter - naiveBefore}, nil
}

// callsPerWorkload is how many distinct prepared calls each workload cycles through.
const callsPerWorkload = 1024

// bench is a prepared run: the workloads' calls, the naive server, and what executes them.
type bench struct {
	cfg       Config
	stack     *harness.Stack
	workloads []Workload
	calls     map[string][]call
	exec      *executor
	spec      clientSpec
	naive     *naiveProcess
	variants  []string
	// wrk runs the wrk variants, whose targets are per workload and variant; nil when they
	// are not measured.
	wrk        *wrkRunner
	wrkTargets map[string]map[string]wrkTarget
}

// Run seeds the database behind stack, checks that the baselines send what the service
// sends, and measures every workload in every variant, interleaved, cfg.Rounds times.
func Run(ctx context.Context, stack *harness.Stack, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	b, err := prepare(ctx, stack, cfg)
	if err != nil {
		return nil, err
	}
	defer b.close()
	if err := checkSameBody(ctx, b.exec, b.workloads, b.calls); err != nil {
		return nil, err
	}
	report := &Report{Config: cfg, Workloads: b.workloads, Variants: b.variants, Results: map[string]map[string][]Measurement{}}
	if report.SQL, err = captureWorkloadSQL(ctx, stack, b.exec, b.workloads, b.calls); err != nil {
		return nil, err
	}
	for round := range cfg.Rounds {
		if err := b.measureRound(ctx, round, report); err != nil {
			return nil, err
		}
	}
	return report, nil
}

// prepare seeds the database, renders every call with the service's own planner and starts
// the naive server.
func prepare(ctx context.Context, stack *harness.Stack, cfg Config) (*bench, error) {
	workloads := Workloads()
	if len(cfg.Only) > 0 {
		workloads = slices.DeleteFunc(workloads, func(w Workload) bool { return !slices.Contains(cfg.Only, w.Name) })
		if len(workloads) == 0 {
			return nil, fmt.Errorf("no workload named %v", cfg.Only)
		}
	}
	fmt.Fprintf(cfg.Progress, "seeding %d authors, %d posts\n", cfg.Authors, cfg.Authors*PostsPerAuthor)
	if err := Seed(ctx, stack.Direct, cfg.Authors); err != nil {
		return nil, err
	}
	transport := &http.Transport{
		MaxIdleConns:        cfg.Concurrency,
		MaxIdleConnsPerHost: cfg.Concurrency,
		MaxConnsPerHost:     cfg.Concurrency,
		DisableCompression:  !cfg.Gzip,
	}
	b := &bench{
		cfg:       cfg,
		stack:     stack,
		workloads: workloads,
		calls:     map[string][]call{},
		exec: &executor{
			client: &http.Client{Transport: transport, Timeout: time.Minute},
			runner: db.NewRoleRunner(stack.Request, db.RunnerConfig{Timeouts: statementTimeouts()}),
			pool:   stack.Direct,
		},
		spec: clientSpec{baseURL: stack.URL, apiKey: stack.AnonKey, gzip: cfg.Gzip},
	}
	if err := waitForSchema(ctx, b.exec, b.spec); err != nil {
		return nil, err
	}
	schema, err := meta.NewInspector(stack.Direct, meta.Config{Schemas: []string{"public"}},
		slog.New(slog.DiscardHandler)).Reload(ctx)
	if err != nil {
		return nil, fmt.Errorf("schema cache: %w", err)
	}
	for i, w := range workloads {
		if b.calls[w.Name], err = prepareCalls(w, i, callsPerWorkload, cfg.Authors*PostsPerAuthor, b.spec, schema); err != nil {
			return nil, err
		}
	}
	ns, err := naiveSpec(stack.Request.Config().ConnString(), cfg.DBConns, workloads, b.calls)
	if err != nil {
		return nil, err
	}
	if b.naive, err = startNaive(ctx, ns); err != nil {
		return nil, err
	}
	for _, cs := range b.calls {
		for i := range cs {
			cs[i].naiveURL = b.naive.url + cs[i].target
		}
	}
	if err := b.prepareWrk(ctx); err != nil {
		b.close()
		return nil, err
	}
	b.variants = variants(b.wrk != nil)
	return b, nil
}

func (b *bench) close() {
	b.naive.close()
	b.exec.client.CloseIdleConnections()
	if b.wrk != nil {
		b.wrk.close()
	}
}

// measureRound measures every workload in every variant once, then GET /health.
func (b *bench) measureRound(ctx context.Context, round int, report *Report) error {
	lc := load.Config{Concurrency: b.cfg.Concurrency, Duration: b.cfg.Duration, Warmup: b.cfg.Warmup}
	variants := b.variants
	for wi, w := range b.workloads {
		if report.Results[w.Name] == nil {
			report.Results[w.Name] = map[string][]Measurement{}
		}
		// The order rotates so that no variant always runs first (or right after the
		// insert workload has grown the table).
		for k := range variants {
			v := variants[(round+wi+k)%len(variants)]
			m, err := measure(ctx, b.stack, b.naive, b.loadRun(lc, w, v))
			if err != nil {
				return fmt.Errorf("%s %s: %w", w.Name, v, err)
			}
			report.Results[w.Name][v] = append(report.Results[w.Name][v], m)
			fmt.Fprintf(b.cfg.Progress, "round %d  %-8s %-9s %s\n", round+1, w.Name, v, m.Result)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	m, err := measure(ctx, b.stack, b.naive, inProcess(lc, func(ctx context.Context, _ int) error { return health(ctx, b.exec, b.spec) }))
	if err != nil {
		return err
	}
	report.Health = append(report.Health, m)
	fmt.Fprintf(b.cfg.Progress, "round %d  %-8s %-9s %s\n", round+1, "health", Ours, m.Result)
	return nil
}

// loadRun is variant v of workload w under lc: through wrk for the wrk variants, from this
// process otherwise.
func (b *bench) loadRun(lc load.Config, w Workload, v string) loadRun {
	t, ok := b.wrkTargets[w.Name][v]
	if !ok {
		return inProcess(lc, b.exec.op(v, w, b.calls[w.Name], b.cfg.Concurrency))
	}
	return func(ctx context.Context) (load.Result, time.Duration, error) {
		return b.wrk.measure(ctx, t.script, t.url, lc)
	}
}
