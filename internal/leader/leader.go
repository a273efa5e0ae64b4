// Package leader runs a piece of background work on one node of a cluster at a time. The node
// holding a PostgreSQL session advisory lock, on a connection of its own, is the leader; the
// others retry now and then. The lock goes with its session: when the leader dies, its
// connection breaks or the server restarts, PostgreSQL releases it and another node takes it.
//
// A leader that loses its session must stop before another starts. The leader checks its
// session every CheckInterval and stops the work as soon as a check fails or the
// connection breaks; a new leader waits TakeoverDelay (longer than a check and its timeout)
// after winning the lock before it starts, so a leader that is alive but cut off has stopped
// by then. The work itself must still tolerate a second run of an interrupted step (each
// user here does: sweeping is idempotent, sealing checks the chain head in one transaction).
//
// The replication-stream reader (internal/realtime/replication), the audit-chain sealer
// (internal/audit) and the security monitor (internal/alerts) elect themselves with the same
// kind of lock, each in its own package; new elected work (the storage sweeper, cron jobs,
// change hooks and webhooks) should use Run.
package leader

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults for zero Config fields.
const (
	DefaultRetryInterval = 5 * time.Second
	DefaultCheckInterval = 2 * time.Second
)

// Config names the work and paces the election.
type Config struct {
	// Name identifies the work: nodes running Run with the same Name on the same database
	// elect one leader among them. Required.
	Name string
	// RetryInterval is how often a node that is not the leader tries to become it. Default 5s.
	RetryInterval time.Duration
	// CheckInterval is how often the leader checks that it still holds its session; a check
	// also times out after it. Default 2s.
	CheckInterval time.Duration
	// TakeoverDelay is how long a new leader waits before it starts the work. Default and
	// minimum: 2 × CheckInterval plus a second.
	TakeoverDelay time.Duration
	// Logger receives elections and losses; nil is slog.Default().
	Logger *slog.Logger
	// OnLeader, when set, is told when this node starts (true) and stops (false) leading;
	// for metrics and tests.
	OnLeader func(leading bool)
}

// Key is the advisory lock key of name: what an operator looks for in pg_locks
// (locktype advisory, objid the key's low 32 bits, classid the high ones).
func Key(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("goforward leader " + name))
	return int64(h.Sum64())
}

// ErrLostLeadership is the cause of the work context's end when the lock's session was lost.
var ErrLostLeadership = errors.New("leader: lost the lock's session")

// Run competes for the lock of cfg.Name through pool's server and database and, while this
// node holds it, runs work with a context that ends when leadership is lost (cause
// ErrLostLeadership) or ctx ends. When work returns while still leading, it is started again
// after RetryInterval (its error, if any, is logged). Run returns when ctx ends, once work
// has returned.
func Run(ctx context.Context, pool *pgxpool.Pool, cfg Config, work func(context.Context) error) error {
	if cfg.Name == "" {
		return errors.New("leader: a name is required")
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if floor := 2*cfg.CheckInterval + time.Second; cfg.TakeoverDelay < floor {
		cfg.TakeoverDelay = floor
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for {
		if err := lead(ctx, pool, cfg, work); err != nil && ctx.Err() == nil {
			cfg.Logger.WarnContext(ctx, "leader: not leading; retrying", "work", cfg.Name, "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.RetryInterval):
		}
	}
}

// lead takes the lock if it is free and, holding it, runs work until leadership or ctx ends.
func lead(ctx context.Context, pool *pgxpool.Pool, cfg Config, work func(context.Context) error) error {
	connCfg := pool.Config().ConnConfig.Copy()
	connCfg.RuntimeParams["application_name"] = "goforward leader " + cfg.Name
	conn, err := pgx.ConnectConfig(ctx, connCfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	key := Key(cfg.Name)
	var held bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&held); err != nil {
		return fmt.Errorf("take the lock: %w", err)
	}
	if !held {
		return nil
	}
	workCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		guard(workCtx, conn, cfg.CheckInterval, cancel)
	}()
	defer func() {
		cancel(nil)
		<-checked
	}()

	// Whoever led before may be alive, cut off, and not yet aware: give it time to notice.
	select {
	case <-workCtx.Done():
		return context.Cause(workCtx)
	case <-time.After(cfg.TakeoverDelay):
	}
	cfg.Logger.InfoContext(ctx, "leader: this node now runs the work", "work", cfg.Name)
	if cfg.OnLeader != nil {
		cfg.OnLeader(true)
		defer cfg.OnLeader(false)
	}
	for {
		err := work(workCtx)
		if cause := context.Cause(workCtx); cause != nil {
			if errors.Is(cause, ErrLostLeadership) {
				cfg.Logger.WarnContext(ctx, "leader: lost the lock; the work stopped", "work", cfg.Name)
				return nil
			}
			return nil // ctx ended
		}
		if err != nil {
			cfg.Logger.WarnContext(ctx, "leader: the work failed; running it again", "work", cfg.Name, "error", err.Error())
		}
		select {
		case <-workCtx.Done():
		case <-time.After(cfg.RetryInterval):
		}
	}
}

// guard checks the lock's session every interval and ends the work's context when a check
// fails: the session, and with it the lock, may be gone.
func guard(ctx context.Context, conn *pgx.Conn, interval time.Duration, cancel context.CancelCauseFunc) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			checkCtx, stop := context.WithTimeout(ctx, interval)
			err := conn.Ping(checkCtx)
			stop()
			if err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("%w: %v", ErrLostLeadership, err))
				return
			}
		}
	}
}
