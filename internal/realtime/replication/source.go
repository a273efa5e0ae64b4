package replication

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultPublication      = "supabase_realtime"
	DefaultRetryInterval    = 2 * time.Second
	DefaultStatusInterval   = 10 * time.Second
	DefaultLagCheckInterval = 30 * time.Second
	DefaultLagAlertBytes    = 256 << 20
	DefaultMaxLagBytes      = 4 << 30
)

// confirmDelay bounds how long a committed and handed-on transaction waits before its
// position is confirmed to the server; confirmations are batched rather than sent per commit.
const confirmDelay = 200 * time.Millisecond

// Config configures a Source. Zero values mean the stated defaults.
type Config struct {
	// Slot names the permanent logical replication slot (lower-case letters, digits and
	// underscores, at most 63). Required. Slots are per cluster: every database needs its own.
	Slot string
	// Publication is the publication whose tables are streamed. Default supabase_realtime.
	Publication string
	// RetryInterval is how often a process that is not the reader tries to become it, and the
	// pause after the stream failed. Default 2s.
	RetryInterval time.Duration
	// StatusInterval is how often the reader reports its position to the server even when
	// nothing happens (the server drops a silent reader after wal_sender_timeout). Default 10s.
	StatusInterval time.Duration
	// LagCheckInterval is how often the reader measures how much WAL the slot holds back.
	// Default 30s.
	LagCheckInterval time.Duration
	// LagAlertBytes is the slot lag above which every check logs a warning. Default 256 MiB;
	// negative: never.
	LagAlertBytes int64
	// MaxLagBytes is the slot lag above which the slot is dropped and created again, so that
	// PostgreSQL can free the WAL it retains; the changes in between are lost, and an error
	// is logged saying so. Default 4 GiB; negative: never drop.
	MaxLagBytes int64
}

var slotName = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

func (c Config) withDefaults() (Config, error) {
	if !slotName.MatchString(c.Slot) {
		return c, fmt.Errorf("replication: slot name %q must be 1-63 lower-case letters, digits or underscores", c.Slot)
	}
	if c.Publication == "" {
		c.Publication = DefaultPublication
	}
	setDuration := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDuration(&c.RetryInterval, DefaultRetryInterval)
	setDuration(&c.StatusInterval, DefaultStatusInterval)
	setDuration(&c.LagCheckInterval, DefaultLagCheckInterval)
	if c.LagAlertBytes == 0 {
		c.LagAlertBytes = DefaultLagAlertBytes
	}
	if c.MaxLagBytes == 0 {
		c.MaxLagBytes = DefaultMaxLagBytes
	}
	return c, nil
}

// EmitFunc hands one change on. An error stops the stream before the change's transaction is
// confirmed, so it is read again later.
type EmitFunc func(ctx context.Context, ch *Change) error

// Status is a snapshot of what a Source is doing, for metrics.
type Status struct {
	// Reader reports whether this process currently reads the stream.
	Reader bool
	// LagBytes is the WAL the slot held back at the last check, or -1 before the first.
	LagBytes int64
}

// Source reads the replication stream whenever this process holds the reader lock.
type Source struct {
	cfg     Config
	pool    *pgxpool.Pool
	logger  *slog.Logger
	lockKey int64
	catalog *catalog

	reader atomic.Bool
	lag    atomic.Int64
	// handedOn is read and written only by the one stream running at a time.
	handedOn handedOn
	onStream func(streaming bool)
}

// OnStream sets fn to be called when the stream starts (true) and when it breaks (false),
// not when it ends because Run's context did. Call it before Run; nil means no calls.
func (s *Source) OnStream(fn func(streaming bool)) { s.onStream = fn }

func (s *Source) notify(ctx context.Context, streaming bool) {
	// The stream's context also ends when the reader lock is lost, with that as its cause;
	// only Run's own end (plain cancellation) is no break.
	if s.onStream != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
		s.onStream(streaming)
	}
}

// New returns a Source reading through pool's server and database. pool must connect as a
// superuser or a role with the REPLICATION attribute (and, to end a stale reader's session,
// pg_signal_backend). logger nil means slog.Default().
func New(cfg Config, pool *pgxpool.Pool, logger *slog.Logger) (*Source, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, errors.New("replication: a connection pool is required")
	}
	if logger == nil {
		logger = slog.Default()
	}
	h := fnv.New64a()
	h.Write([]byte("goforward realtime reader " + cfg.Slot))
	s := &Source{cfg: cfg, pool: pool, logger: logger, lockKey: int64(h.Sum64()), catalog: newCatalog(pool)}
	s.lag.Store(-1)
	return s, nil
}

// Status reports whether this process reads the stream and the last measured slot lag.
func (s *Source) Status() Status {
	return Status{Reader: s.reader.Load(), LagBytes: s.lag.Load()}
}

// ApplicationName is the application_name of the reader's sessions, naming this process so
// an operator (or a test) can tell which node reads the stream.
func ApplicationName() string {
	return fmt.Sprintf("goforward realtime reader pid=%d", os.Getpid())
}

// maxRetryInterval caps the pause between attempts that keep failing (a role without
// REPLICATION, a server without wal_level=logical), so the log is not flooded.
const maxRetryInterval = time.Minute

// Run competes for the reader lock and, while holding it, streams changes to emit in commit
// order. It returns nil when ctx ends; failures are logged and retried, less often while they
// keep failing before the stream starts.
func (s *Source) Run(ctx context.Context, emit EmitFunc) error {
	wait := s.cfg.RetryInterval
	for {
		streamed, err := s.lead(ctx, emit)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case streamed || err == nil:
			wait = s.cfg.RetryInterval
		default:
			wait = min(2*wait, maxRetryInterval)
		}
		if err != nil {
			s.logger.WarnContext(ctx, "realtime: replication reader stopped; retrying", "slot", s.cfg.Slot, "retry_in", wait.String(), "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// lead waits until this process holds the reader lock, then streams until the stream fails,
// the lock connection dies or ctx ends, and reports whether the stream started. The lock
// lives on a connection of its own: if this process dies, PostgreSQL releases it with the
// connection, and another process takes over.
func (s *Source) lead(ctx context.Context, emit EmitFunc) (bool, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ApplicationName()
	lockConn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect for the reader lock: %w", err)
	}
	defer lockConn.Close(context.WithoutCancel(ctx))
	for {
		var held bool
		if err := lockConn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", s.lockKey).Scan(&held); err != nil {
			return false, fmt.Errorf("take the reader lock: %w", err)
		}
		if held {
			break
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(s.cfg.RetryInterval):
		}
	}
	s.logger.InfoContext(ctx, "realtime: this node now reads the replication stream", "slot", s.cfg.Slot)
	s.reader.Store(true)
	defer s.reader.Store(false)

	streamCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	guardDone := make(chan struct{})
	go func() {
		defer close(guardDone)
		s.guardLock(streamCtx, lockConn, cancel)
	}()
	streamed, err := s.stream(streamCtx, emit)
	cancel(nil)
	<-guardDone
	if cause := context.Cause(streamCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		return streamed, cause
	}
	return streamed, err
}

// guardLock pings the lock connection; if it dies the lock is gone and another process may
// already read, so the stream is stopped.
func (s *Source) guardLock(ctx context.Context, lockConn *pgx.Conn, cancel context.CancelCauseFunc) {
	ticker := time.NewTicker(s.cfg.StatusInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := lockConn.Ping(ctx); err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("lost the reader lock connection: %w", err))
				return
			}
		}
	}
}
