package signingkeys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/security"
)

// Channel is the notification channel a change to goforward.signing_keys rings
// (migrations/0017_signing_keys.sql).
const Channel = "goforward_signing_keys"

// Defaults of Watcher.
const (
	DefaultRetryInterval  = time.Second
	DefaultResyncInterval = time.Minute
)

// Watcher keeps a node's Keys on the ring in the database: it loads it at start, and again
// whenever any node changes it (LISTEN/NOTIFY, as API keys do), every ResyncInterval in case
// a notification was lost, and at every retry while it cannot listen. A revoked key's tokens
// are refused here as soon as the notification arrives.
type Watcher struct {
	Pool           *pgxpool.Pool
	Keys           *security.Keys
	Logger         *slog.Logger
	RetryInterval  time.Duration
	ResyncInterval time.Duration

	hooksMu sync.Mutex
	hooks   []func()
}

// Load reads the ring, hands it to Keys and runs the OnReload hooks.
func (w *Watcher) Load(ctx context.Context) error {
	ring, err := Load(ctx, w.Pool, w.Keys)
	if err != nil {
		return err
	}
	w.Keys.SetKeyRing(ring)
	w.hooksMu.Lock()
	hooks := w.hooks
	w.hooksMu.Unlock()
	for _, fn := range hooks {
		fn()
	}
	return nil
}

// OnReload registers fn to run after every load, so that holders of long-lived connections
// (realtime's channels) can end those whose token's key was revoked. fn must not block.
func (w *Watcher) OnReload(fn func()) {
	w.hooksMu.Lock()
	w.hooks = append(w.hooks, fn)
	w.hooksMu.Unlock()
}

// Run keeps the ring current until ctx ends; failures are logged and retried.
func (w *Watcher) Run(ctx context.Context) error {
	retry := cmpDuration(w.RetryInterval, DefaultRetryInterval)
	logger := w.Logger
	if logger == nil {
		logger = slog.Default()
	}
	for {
		err := w.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		logger.WarnContext(ctx, "signing key listener failed; retrying", "error", err, "retry_in", retry)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
		if err := w.Load(ctx); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "signing keys could not be reloaded", "error", err)
		}
	}
}

func (w *Watcher) listen(ctx context.Context) error {
	connCfg := w.Pool.Config().ConnConfig.Copy()
	// A timed-out wait (the resync) must only set a read deadline, not cancel the
	// connection's query on the server and make the connection unusable.
	connCfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, connCfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Changes made before LISTEN took effect were not notified.
	if err := w.Load(ctx); err != nil {
		return err
	}
	resync := cmpDuration(w.ResyncInterval, DefaultResyncInterval)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, resync)
		_, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		default:
			return fmt.Errorf("wait for notification: %w", err)
		}
		if err := w.Load(ctx); err != nil {
			return err
		}
	}
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
