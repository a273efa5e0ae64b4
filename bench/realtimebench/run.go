// Package realtimebench measures /realtime/v1 of a freshly built goforward on loopback:
// memory per idle WebSocket, broadcast fan-out, and insert-to-delivery latency of
// postgres_changes with and without row-level security (see bench/RESULTS.md, issue 6).
package realtimebench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/goforward/goforward/bench/harness"
)

// Config sizes a run. Zero values take the defaults given per field.
type Config struct {
	Subscribers         []int         // postgres_changes subscriber counts; default 1, 100, 1000
	Tables              []string      // postgres_changes tables: "plain", "rls"; default both
	Inserts             int           // measured inserts per postgres_changes cell; default 200
	InsertRate          float64       // inserts per second; default 20
	Rates               []float64     // insert rates of the postgres_changes grid; default [InsertRate]
	Seconds             float64       // when set, each cell inserts Seconds × rate rows instead of Inserts
	OnlyChanges         bool          // measure postgres_changes only (no connection or broadcast rows)
	Connections         []int         // connection counts, opened cumulatively; default 1000, 10000
	Fanout              []int         // broadcast subscriber counts; default 100, 1000
	BroadcastDeliveries int           // deliveries per fan-out row (messages = this ÷ subscribers); default 200000
	DrainTimeout        time.Duration // wait for outstanding deliveries after the last send; default 30s
	FDLimit             uint64        // the generator's RLIMIT_NOFILE, reported with the connection rows
	Progress            io.Writer     // progress lines; nil discards
}

func (c Config) withDefaults() Config {
	if len(c.Subscribers) == 0 {
		c.Subscribers = []int{1, 100, 1000}
	}
	if len(c.Tables) == 0 {
		c.Tables = []string{"plain", "rls"}
	}
	if c.Inserts <= 0 {
		c.Inserts = 200
	}
	if c.InsertRate <= 0 {
		c.InsertRate = 20
	}
	if len(c.Rates) == 0 {
		c.Rates = []float64{c.InsertRate}
	}
	if len(c.Connections) == 0 {
		c.Connections = []int{1000, 10000}
	}
	if len(c.Fanout) == 0 {
		c.Fanout = []int{100, 1000}
	}
	if c.BroadcastDeliveries <= 0 {
		c.BroadcastDeliveries = 200000
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 30 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// StackOptions start goforward with the realtime service alone and its per-client limits
// raised out of the way: every benchmark connection shares the anon key, the sender must
// not be throttled, a subscriber must not be cut off for falling behind a burst, and idle
// connections must not time out while thousands more are opened.
func StackOptions(cfg Config) harness.Options {
	cfg = cfg.withDefaults()
	maxConns := 0
	for _, n := range cfg.Connections {
		maxConns = max(maxConns, n)
	}
	return harness.Options{Env: []string{
		"GOFORWARD_SERVICES=realtime",
		"GOFORWARD_REALTIME_MAX_CONNECTIONS_PER_KEY=" + strconv.Itoa(2*maxConns+10000),
		"GOFORWARD_REALTIME_MAX_CONNECTIONS_PER_IP=0", // every benchmark socket comes from loopback
		"GOFORWARD_REALTIME_MESSAGES_PER_SECOND=1000000",
		"GOFORWARD_REALTIME_SEND_QUEUE_SIZE=65536",
		"GOFORWARD_REALTIME_HEARTBEAT_TIMEOUT=1h",
	}}
}

// Report is everything one run measured.
type Report struct {
	Changes   []ChangesResult
	Conns     []ConnsResult
	Broadcast []BroadcastResult
}

// Run measures connection memory, postgres_changes latency and broadcast fan-out against stack, which StackOptions(cfg) started.
func Run(ctx context.Context, stack *harness.Stack, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	var r Report
	if _, err := stack.Direct.Exec(ctx, changesSchema); err != nil {
		return r, fmt.Errorf("create tables: %w", err)
	}
	// Connections first: their RSS baseline is then a server that has not yet grown its heap
	// for a thousand subscribers.
	if !cfg.OnlyChanges {
		r.Conns = runConns(ctx, stack, cfg.Connections, cfg.FDLimit, cfg.Progress)
	}
	var nextID int64
	for _, name := range cfg.Tables {
		table := map[string]string{"plain": plainTable, "rls": rlsTable}[name]
		if table == "" {
			return r, fmt.Errorf("unknown table %q: plain or rls", name)
		}
		for _, n := range cfg.Subscribers {
			for _, rate := range cfg.Rates {
				cell := cfg
				cell.InsertRate = rate
				if cfg.Seconds > 0 {
					cell.Inserts = min(10000, max(1, int(cfg.Seconds*rate)))
				}
				r.Changes = append(r.Changes, runChanges(ctx, stack, cell, table, n, &nextID, cfg.Progress))
			}
		}
	}
	if cfg.OnlyChanges {
		return r, ctx.Err()
	}
	for _, m := range cfg.Fanout {
		r.Broadcast = append(r.Broadcast, runBroadcast(ctx, stack, cfg, m, cfg.Progress))
	}
	return r, ctx.Err()
}
