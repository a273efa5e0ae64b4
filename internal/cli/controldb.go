package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/migrations"
)

// exitBusy is the exit code of a control command that found the data directory's cluster
// held by a process that does not serve it (yet): `goforward serve` starting or stopping, or
// another command. Running the command again shortly is the fix, so scripts may retry on it.
const exitBusy = 4

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

// openControlDB connects to the configured database: an external DATABASE_URL; the database
// of a server running on the data directory, through the URL it recorded (its managed
// cluster, or an external database it was given through its own environment); or, when none
// runs, the managed cluster started for this command under the same lock serve takes (so the
// two never run one cluster twice). The internal schema is brought up to date unless a
// running server already did. Close undoes everything.
//
// While another process holds the cluster without serving it (serve is starting or
// stopping, or another command runs), it fails with exit code exitBusy and says to retry.
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
		case rtErr == nil:
			// The server's own database, whether managed or given to serve alone (its
			// environment is not this command's): starting the managed cluster here would
			// write to a database the server never reads.
			dsn, migrate = rt.DBURL, false
		case !errors.Is(rtErr, datadir.ErrNotRunning):
			return nil, rtErr
		default:
			if err := c.startManaged(ctx, cfg, dir, logger); err != nil {
				return nil, err
			}
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

// startManaged starts the data directory's cluster for this command.
func (c *controlDB) startManaged(ctx context.Context, cfg config.Config, dir datadir.Dir, logger *slog.Logger) error {
	if err := dir.Ensure(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir.PostgresDir(), "cluster.json")); errors.Is(err, fs.ErrNotExist) {
		// Right before a first `serve` (init, then admin create) this is expected; after a
		// mistyped --data-dir it is the one hint that the command acts on an empty database.
		logger.Warn("no database in the data directory yet: creating one (check --data-dir if you expected an existing one)", "data_dir", dir.Root())
	}
	var err error
	c.managed, err = db.NewManaged(db.ManagedConfig{
		Dir: dir.PostgresDir(), BinDir: cfg.Database.BinDir, Port: cfg.Database.Port,
		Logger: logger.With("component", "postgres"),
	})
	if err != nil {
		return err
	}
	err = c.managed.Start(ctx)
	var inUse *db.ClusterInUseError
	switch {
	case err == nil:
		c.Started = true
		return nil
	case errors.Is(err, db.ErrBinariesNotFound):
		return &exitError{code: 3, err: err}
	case errors.As(err, &inUse):
		// serve holds the lock from before its cluster starts until it stops, but records
		// itself (runtime.json, which the branch above reads) only once it serves.
		return &exitError{code: exitBusy, err: fmt.Errorf("the database of %s is held by process %d, which is not serving it: "+
			"if `goforward serve` is starting (or stopping), wait until `goforward status --data-dir %s` answers (or it has stopped) and run this command again; "+
			"if another goforward command is running on this data directory, let it finish first",
			dir.Root(), inUse.PID, dir.Root())}
	default:
		return fmt.Errorf("start the managed PostgreSQL cluster in %s: %w", dir.PostgresDir(), err)
	}
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

// withControlDB loads the configuration, opens the control database for the command, runs
// fn and closes it again (stopping the cluster if the command started it).
func withControlDB(cmd *cobra.Command, g *globalFlags, stderr io.Writer, fn func(ctx context.Context, c *controlDB, cfg config.Config) error) error {
	cfg, err := loadConfig(cmd, g, nil)
	if err != nil {
		return err
	}
	c, err := openControlDB(cmd.Context(), cfg, quietLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(cmd.Context(), c, cfg)
}

// cliEntry starts the audit entry of an action taken at the command line. The CLI knows its
// operator only as the account and host it runs on, so those go in the details.
func cliEntry(action string) audit.Entry {
	details := map[string]any{}
	if u, err := user.Current(); err == nil {
		details["os_user"] = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		details["host"] = h
	}
	return audit.Entry{
		Actor:   access.CLI().Actor(),
		Action:  action,
		Client:  audit.Client{UserAgent: cliUserAgent()},
		Details: details,
	}
}

// encodeJSON writes v as indented JSON, the --json output of every command.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // output for people and jq, not HTML: "&&" stays "&&"
	return enc.Encode(v)
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
