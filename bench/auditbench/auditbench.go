// Package auditbench measures what the audit log costs (issue 13):
//
//   - admin writes: the same admin write transaction (update one user's app_metadata, as
//     PATCH /admin/v1/users does) with its audit entry written in the transaction, and
//     without, interleaved, from many workers at once, while the server's sealer chains the
//     entries; audited ÷ plain writes/s is the price of auditing (target ≥ 0.9);
//   - export: GET /admin/v1/audit/export of a large log (1,000,000 entries by default) in
//     NDJSON and CSV, streamed through the real server, with the server's resident memory
//     sampled throughout: the peak must not grow with the log;
//   - and, on the way, how fast the sealer chains a backlog and how long verifying it takes.
package auditbench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"time"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/load"
)

// The measured write variants: the same admin write through goforward's own admin API, as
// an admin-service-like request, and as a bare transaction, each without and with its audit
// entry.
const (
	// APIPlain is PUT /auth/v1/admin/users/{id} (GoTrue's admin API, service-role key)
	// through goforward with the audit log's rows discarded by a trigger (see discardAudit).
	APIPlain = "api plain"
	// APIAudited is the same request as goforward runs it: its auth.admin_user_updated entry
	// written in the write's transaction and sealed meanwhile.
	APIAudited = "api audited"
	// RequestPlain is PATCH /admin/v1/plain/users/{id} of an admin-write server built like
	// the admin service, on the product's gateway (the admin session authenticated by
	// internal/access, the body decoded, the user updated in a transaction, the user written
	// back), without an audit entry.
	RequestPlain = "request plain"
	// RequestAudited is the same with the audit entry queued (audit.Queue) in the batch that
	// makes the change: one round trip for both, the way internal/audit recommends.
	RequestAudited = "request audited"
	// TxPlain is the bare transaction: BEGIN, UPDATE one user, COMMIT.
	TxPlain = "tx plain"
	// TxAudited is the bare transaction with the entry queued with the UPDATE: what auditing
	// costs at the least favourable scale, a write that does nothing else.
	TxAudited = "tx audited"
)

func variants() []string {
	return []string{APIPlain, APIAudited, RequestPlain, RequestAudited, TxPlain, TxAudited}
}

// audited reports whether variant v writes audit entries.
func audited(v string) bool { return v == APIAudited || v == RequestAudited || v == TxAudited }

// Config bounds a run. Zero values mean the stated defaults.
type Config struct {
	Concurrency int           // concurrent writers; default 32
	Duration    time.Duration // measured time of each write measurement; default 10s
	Warmup      time.Duration // unmeasured time before each; default 2s, negative none
	Rounds      int           // interleaved rounds of the writes; default 3
	// ExportRows is the size of the log exported; default 1,000,000; negative skips the export.
	ExportRows int
	Progress   io.Writer // a line per step; nil discards
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	if c.Rounds <= 0 {
		c.Rounds = 3
	}
	if c.ExportRows == 0 {
		c.ExportRows = 1_000_000
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// StackOptions run goforward with the admin service (it serves the export and verify) and
// auth (its admin API is the real write measured; the sealer runs whatever the services) on the load generator's processors, with a pool as
// large as the writers. Realtime stays off like every other service under no test: its
// replication reader would decode every write's WAL, audited or not.
func StackOptions(cfg Config) harness.Options {
	cfg = cfg.withDefaults()
	return harness.Options{
		Env:      []string{"GOFORWARD_SERVICES=admin,auth", "GOMAXPROCS=" + strconv.Itoa(runtime.GOMAXPROCS(0))},
		PoolSize: int32(cfg.Concurrency),
	}
}

// Measurement is one write variant in one round.
type Measurement struct {
	load.Result
	CPU harness.CPUTimes // processor time of each side over the measurement, warm-up included
	// SealerBackend is the processor time of the sealer's PostgreSQL backend over the
	// measurement and until it had sealed everything (part of CPU.Postgres).
	SealerBackend time.Duration
}

// Report is everything a run measured.
type Report struct {
	Config     Config
	GOMAXPROCS int
	Writes     map[string][]Measurement
	// SealLag is, per round, how long after the audited writers stopped the last entry was
	// sealed.
	SealLag []time.Duration
	Seal    *SealRun     // chaining the export's backlog
	Verify  *VerifyRun   // verifying it
	Exports []ExportRun  // one per format
	Load    [][3]float64 // load average at the start and the end of the run
}

// Run measures the writes, then (unless ExportRows < 0) the backlog, verification and export.
func Run(ctx context.Context, stack *harness.Stack, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	r := &Report{Config: cfg, GOMAXPROCS: runtime.GOMAXPROCS(0), Writes: map[string][]Measurement{}}
	r.Load = append(r.Load, loadAverage())
	if err := r.runWrites(ctx, stack); err != nil {
		return nil, err
	}
	if cfg.ExportRows > 0 {
		if err := r.runExport(ctx, stack); err != nil {
			return nil, err
		}
	}
	r.Load = append(r.Load, loadAverage())
	return r, nil
}

func (r *Report) progress(format string, args ...any) {
	fmt.Fprintf(r.Config.Progress, format+"\n", args...)
}
