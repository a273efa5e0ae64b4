package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/migrations"
)

// controlDB is the database as the CLI's control-plane commands (admin, user, audit,
// emergency-access, sessions) reach it, whether or not `serve` runs on the data directory.
type controlDB struct {
	// Pool is the owner's connection: the admin tables and the audit log are out of every
	// API role's reach.
	Pool *pgxpool.Pool
	// Dir is the data directory (archives of the audit log live there).
	Dir datadir.Dir
	// Started tells that this command started the managed cluster itself (no server was
	// running) and stops it on Close.
	Started bool
	managed *db.Managed
}

// openControlDB connects to the configured database: an external DATABASE_URL; the managed
// cluster of a server running on the data directory, through the URL it recorded; or, when
// none runs, the managed cluster started for this command under the same lock serve takes
// (so the two never run one cluster twice). The internal schema is brought up to date unless
// a running server already did. Close undoes everything.
func openControlDB(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *controlDB, err error) {
	dir, err := datadir.New(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	c := &controlDB{Dir: dir}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	dsn, migrate := cfg.Database.URL, true
	if dsn == "" {
		rt, rtErr := dir.ReadRuntime()
		switch {
		case rtErr == nil && rt.ManagedCluster:
			dsn, migrate = rt.DBURL, false
		case rtErr != nil && !errors.Is(rtErr, datadir.ErrNotRunning):
			return nil, rtErr
		default:
			if err := dir.Ensure(); err != nil {
				return nil, err
			}
			c.managed, err = db.NewManaged(db.ManagedConfig{
				Dir: dir.PostgresDir(), BinDir: cfg.Database.BinDir, Port: cfg.Database.Port,
				Logger: logger.With("component", "postgres"),
			})
			if err != nil {
				return nil, err
			}
			if err := c.managed.Start(ctx); err != nil {
				if errors.Is(err, db.ErrBinariesNotFound) {
					return nil, &exitError{code: 3, err: err}
				}
				return nil, fmt.Errorf("start the managed PostgreSQL cluster in %s (is `goforward serve` starting on it?): %w", dir.PostgresDir(), err)
			}
			c.Started = true
			dsn = c.managed.LocalDSN()
		}
	}
	c.Pool, err = db.Open(ctx, dsn, db.PoolConfig{MaxConns: 4, ConnectTimeout: cfg.Database.ConnectTimeout, AppName: "goforward-cli"})
	if err != nil {
		return nil, err
	}
	if migrate {
		if _, err := db.Migrate(ctx, c.Pool, migrations.FS, logger); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Close closes the pool and stops the cluster if this command started it.
func (c *controlDB) Close() {
	if c.Pool != nil {
		c.Pool.Close()
	}
	if c.managed != nil && c.Started {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		_ = c.managed.Stop(ctx)
	}
}

// quietLogger is the logger of CLI commands other than serve: warnings and errors only, so
// that their output stays what the user asked for.
func quietLogger(cfg config.Config, stderr io.Writer) *slog.Logger {
	lc := cfg.Log
	if lc.Level == "debug" || lc.Level == "info" {
		lc.Level = "warn"
	}
	return newLogger(lc, stderr)
}
