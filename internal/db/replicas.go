package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultReplicaCheckInterval is how often Replicas measures each replica's lag.
const DefaultReplicaCheckInterval = time.Second

// ReplicaConfig configures Replicas.
type ReplicaConfig struct {
	// URLs are the replicas' connection strings; their user and password are replaced by
	// the authenticator's, as the request pool's are.
	URLs []string
	// AuthenticatorPassword is the authenticator role's password (the same on the replicas,
	// which copy the primary's roles). Empty: connect with the URLs' own credentials.
	AuthenticatorPassword string
	// MaxLag is how far behind the primary a replica may be and still serve reads.
	MaxLag time.Duration
	// CheckInterval is how often the lag is measured. Default DefaultReplicaCheckInterval.
	CheckInterval time.Duration
	Pool          PoolConfig
	Runner        RunnerConfig
	Logger        *slog.Logger
}

// Replicas are streaming replicas of the primary that serve read-only requests while they
// keep up. Lag is measured against the primary's WAL position, so an idle primary does not
// make a replica look late: every check records the primary's current position; a replica
// is as late as the oldest recorded position it has not replayed yet.
type Replicas struct {
	cfg      ReplicaConfig
	primary  *pgxpool.Pool
	replicas []*replica
	next     atomic.Uint64

	mu      sync.Mutex
	samples []positionSample // the primary's positions, oldest first
}

type positionSample struct {
	at  time.Time
	lsn pglogrepl.LSN
}

type replica struct {
	name   string // the URL without its password, for logs
	pool   *pgxpool.Pool
	runner *RoleRunner
	usable atomic.Bool
}

// OpenReplicas connects to every replica (connections are opened lazily, so a replica that
// is down now only starts out unusable). primary is the pool whose server they follow.
func OpenReplicas(ctx context.Context, primary *pgxpool.Pool, cfg ReplicaConfig) (*Replicas, error) {
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultReplicaCheckInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Prepared statements are per server and the replica learns of schema changes only by
	// replaying them: sending statements unprepared spares it plans of a schema it left.
	cfg.Runner.Unprepared = true
	r := &Replicas{cfg: cfg, primary: primary}
	for _, raw := range cfg.URLs {
		dsn := raw
		if cfg.AuthenticatorPassword != "" {
			var err error
			if dsn, err = WithCredentials(raw, "authenticator", cfg.AuthenticatorPassword); err != nil {
				return nil, fmt.Errorf("read replica %s: %w", RedactURL(raw), err)
			}
		}
		pc, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("parse read replica url %s: %w", RedactURL(raw), err)
		}
		poolCfg := cfg.Pool
		if poolCfg.AppName == "" {
			poolCfg.AppName = "goforward-replica"
		}
		pool, err := openLazy(ctx, pc, poolCfg)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("read replica %s: %w", RedactURL(raw), err)
		}
		r.replicas = append(r.replicas, &replica{name: RedactURL(raw), pool: pool, runner: NewRoleRunner(pool, cfg.Runner)})
	}
	return r, nil
}

// openLazy is Open without the first round trip: a replica that is down must not keep the
// node from starting.
func openLazy(ctx context.Context, pc *pgxpool.Config, cfg PoolConfig) (*pgxpool.Pool, error) {
	pc.MaxConns = cfg.MaxConns
	if pc.MaxConns <= 0 {
		pc.MaxConns = 4
	}
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	if pc.ConnConfig.ConnectTimeout <= 0 {
		pc.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pc.ConnConfig.RuntimeParams["application_name"] = cfg.AppName
	return pgxpool.NewWithConfig(ctx, pc)
}

// Runner returns a usable replica's runner, taking turns, or nil when none is usable (the
// caller then uses the primary).
func (r *Replicas) Runner() *RoleRunner {
	if r == nil || len(r.replicas) == 0 {
		return nil
	}
	n := len(r.replicas)
	start := int(r.next.Add(1) % uint64(n))
	for i := range n {
		if rep := r.replicas[(start+i)%n]; rep.usable.Load() {
			return rep.runner
		}
	}
	return nil
}

// Failed takes runner's replica out of use until its next good check: a request that could
// not reach it is run on the primary instead.
func (r *Replicas) Failed(runner *RoleRunner) {
	if r == nil {
		return
	}
	for _, rep := range r.replicas {
		if rep.runner == runner && rep.usable.Swap(false) {
			r.cfg.Logger.Warn("read replica unreachable; reads go to the primary", "replica", rep.name)
		}
	}
}

// Run measures the replicas' lag every CheckInterval until ctx ends.
func (r *Replicas) Run(ctx context.Context) error {
	ticker := time.NewTicker(r.cfg.CheckInterval)
	defer ticker.Stop()
	for {
		r.check(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// check records the primary's position and decides, for each replica, whether it is usable.
func (r *Replicas) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.CheckInterval)
	defer cancel()
	now := time.Now()
	var current pglogrepl.LSN
	var text string
	if err := r.primary.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&text); err == nil {
		current, _ = pglogrepl.ParseLSN(text)
	}
	r.mu.Lock()
	if current != 0 {
		r.samples = append(r.samples, positionSample{at: now, lsn: current})
	}
	// Keep what can still decide: samples younger than MaxLag, and the newest older one.
	keep := 0
	for keep < len(r.samples)-1 && now.Sub(r.samples[keep+1].at) > r.cfg.MaxLag {
		keep++
	}
	r.samples = r.samples[keep:]
	samples := append([]positionSample(nil), r.samples...)
	r.mu.Unlock()

	for _, rep := range r.replicas {
		lag, err := r.lagOf(ctx, rep, samples, now)
		usable := err == nil && lag <= r.cfg.MaxLag
		if was := rep.usable.Swap(usable); was != usable {
			if usable {
				r.cfg.Logger.Info("read replica in use", "replica", rep.name, "lag_ms", lag.Milliseconds())
			} else {
				reason := fmt.Sprintf("lag %s over %s", lag.Round(time.Millisecond), r.cfg.MaxLag)
				if err != nil {
					reason = err.Error()
				}
				r.cfg.Logger.Warn("read replica skipped; reads go to the primary", "replica", rep.name, "reason", reason)
			}
		}
	}
}

// errNotStandby is a "replica" that is not in recovery: a promoted former replica, or a
// primary named by mistake. Reads there could miss writes made on the real primary.
var errNotStandby = errors.New("not a standby (pg_is_in_recovery() is false)")

// lagOf is how long ago the primary was at the oldest sampled position rep has not replayed.
func (r *Replicas) lagOf(ctx context.Context, rep *replica, samples []positionSample, now time.Time) (time.Duration, error) {
	var recovering bool
	var text *string
	err := rep.pool.QueryRow(ctx, `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text`).Scan(&recovering, &text)
	if err != nil {
		return 0, err
	}
	if !recovering || text == nil {
		return 0, errNotStandby
	}
	replayed, err := pglogrepl.ParseLSN(*text)
	if err != nil {
		return 0, err
	}
	if len(samples) == 0 {
		return 0, errors.New("the primary's position is unknown")
	}
	for _, s := range samples {
		if s.lsn > replayed {
			return now.Sub(s.at), nil
		}
	}
	return 0, nil
}

// Close closes the replicas' pools.
func (r *Replicas) Close() {
	if r == nil {
		return
	}
	for _, rep := range r.replicas {
		rep.pool.Close()
	}
}
