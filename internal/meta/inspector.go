package meta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the NOTIFY channel the schema cache listens on, the one PostgREST uses, so
// `NOTIFY pgrst, 'reload schema'` written for Supabase works unchanged.
const Channel = "pgrst"

// Defaults for Config's zero values.
const (
	DefaultDebounce      = 50 * time.Millisecond
	DefaultRetryInterval = 2 * time.Second
)

// Config configures an Inspector.
type Config struct {
	// Schemas are the schemas to introspect; the first is the default. Default: public.
	Schemas []string
	// Debounce is how long Run waits after a notification for more before reloading, so a
	// migration of a hundred statements causes one reload. Default 50ms.
	Debounce time.Duration
	// RetryInterval is how long Run waits before reconnecting its listening connection, or
	// retrying a failed reload. Default 2s.
	RetryInterval time.Duration
	// Changed, if set, is called after every successful load, just before the new snapshot
	// becomes current: what was derived from the old one (prepared statements, say) can be
	// dropped before any request sees the new one.
	Changed func()
}

// Inspector keeps the current Schema of a database. It is safe for concurrent use.
type Inspector struct {
	pool    *pgxpool.Pool
	cfg     Config
	logger  *slog.Logger
	current atomic.Pointer[Schema]
	// reloading serialises reloads, so two of them never race to publish older data last.
	reloading sync.Mutex
}

// NewInspector returns an Inspector reading the catalogs through pool, which should connect
// as a role that can see every exposed object (the owner). logger nil means slog.Default().
// Nothing is loaded until Reload or Run.
func NewInspector(pool *pgxpool.Pool, cfg Config, logger *slog.Logger) *Inspector {
	if len(cfg.Schemas) == 0 {
		cfg.Schemas = []string{"public"}
	}
	cfg.Schemas = slices.Clone(cfg.Schemas)
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Inspector{pool: pool, cfg: cfg, logger: logger}
}

// Schema returns the current snapshot, or nil before the first successful load.
func (i *Inspector) Schema() *Schema { return i.current.Load() }

// Ensure returns the current snapshot, loading it first if there is none yet.
func (i *Inspector) Ensure(ctx context.Context) (*Schema, error) {
	if s := i.current.Load(); s != nil {
		return s, nil
	}
	i.reloading.Lock()
	defer i.reloading.Unlock()
	if s := i.current.Load(); s != nil {
		return s, nil
	}
	return i.reloadLocked(ctx)
}

// Reload reads the catalogs again and, on success, makes the result current. On failure the
// previous snapshot stays current.
func (i *Inspector) Reload(ctx context.Context) (*Schema, error) {
	i.reloading.Lock()
	defer i.reloading.Unlock()
	return i.reloadLocked(ctx)
}

func (i *Inspector) reloadLocked(ctx context.Context) (*Schema, error) {
	var s *Schema
	err := pgx.BeginTxFunc(ctx, i.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var err error
			s, err = Inspect(ctx, tx, i.cfg.Schemas)
			return err
		})
	if err != nil {
		return nil, err
	}
	if i.cfg.Changed != nil {
		i.cfg.Changed()
	}
	i.current.Store(s)
	return s, nil
}

// Run listens on Channel and reloads after every burst of 'reload schema' notifications
// (an empty payload counts too, as in PostgREST) until ctx ends; it then returns nil. It loads
// once at start and after every reconnection, since notifications sent while it was not
// listening are lost. Connection failures are logged and retried, never returned.
func (i *Inspector) Run(ctx context.Context) error {
	for {
		err := i.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		i.logger.WarnContext(ctx, "schema cache listener failed; retrying", "error", err, "retry_in", i.cfg.RetryInterval)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(i.cfg.RetryInterval):
		}
	}
}

func (i *Inspector) listen(ctx context.Context) error {
	connCfg := i.pool.Config().ConnConfig.Copy()
	// A canceled wait only sets a read deadline: the debounce below times out waits on
	// purpose, and the default handler would also send the server a cancel request each time.
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
	if err := i.reloadLogged(ctx); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		if !isReloadRequest(n.Payload) {
			continue
		}
		if err := i.drain(ctx, conn); err != nil {
			return err
		}
		if err := i.reloadLogged(ctx); err != nil {
			return err
		}
	}
}

// drain swallows the notifications that keep arriving within Debounce of each other.
func (i *Inspector) drain(ctx context.Context, conn *pgx.Conn) error {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, i.cfg.Debounce)
		_, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
			return nil
		default:
			return fmt.Errorf("wait for notification: %w", err)
		}
	}
}

func (i *Inspector) reloadLogged(ctx context.Context) error {
	s, err := i.Reload(ctx)
	if err != nil {
		return fmt.Errorf("reload schema cache: %w", err)
	}
	i.logger.DebugContext(ctx, "schema cache loaded", "schemas", s.Schemas, "relations", len(s.tables))
	return nil
}

func isReloadRequest(payload string) bool {
	// 'reload config' rereads PostgREST's in-database configuration, which is part of the
	// snapshot.
	return payload == "" || payload == "reload schema" || payload == "reload config"
}
