package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/migrations"
)

// database is the PostgreSQL side of a running server.
type database struct {
	managed *db.Managed   // nil when DATABASE_URL points elsewhere
	dsn     string        // the owner's connection string (contains a password: never log it)
	poolDSN string        // dsn, or the managed cluster's unix socket, for this process's pools
	admin   *pgxpool.Pool // owner connection: migrations, auth internals, admin APIs
	request *pgxpool.Pool // authenticator connection: every request that runs as an API role
	runner  *db.RoleRunner
	// ownerRequests is set when request is the owner pool: an external database without
	// database.authenticator_password, which production refuses (config.ProductionProblems).
	ownerRequests bool
	// borrowed is set when admin is the embedding program's pool, which it closes itself.
	borrowed bool
}

// ownerRequestsWarning is logged, and printed under the start banner, when requests run on
// the owner's connection.
const ownerRequestsWarning = "database.authenticator_password is not set, so requests run on the owner's connection " +
	"(database.url's user, often a superuser) and only switch into the API role per transaction: " +
	"anything that leaves the role (RESET ROLE in a function, a bug) has the owner's privileges. " +
	"Set GOFORWARD_DATABASE_AUTHENTICATOR_PASSWORD to a random value, the same on every node; production refuses to start without it"

// openDatabase starts the managed cluster (unless a URL is configured), applies the internal
// schema and opens the two pools.
func openDatabase(ctx context.Context, cfg config.Config, dir datadir.Dir, state datadir.State, logger *slog.Logger, pool *pgxpool.Pool) (_ *database, err error) {
	d := &database{dsn: cfg.Database.URL, poolDSN: cfg.Database.URL}
	defer func() {
		if err != nil {
			d.close(logger)
		}
	}()
	if pool != nil {
		d.admin, d.borrowed = pool, true
		d.dsn, d.poolDSN = pool.Config().ConnString(), pool.Config().ConnString()
	} else if d.dsn == "" {
		d.managed, err = db.NewManaged(db.ManagedConfig{
			Dir:    dir.PostgresDir(),
			BinDir: cfg.Database.BinDir,
			Port:   cfg.Database.Port,
			Logger: logger.With("component", "postgres"),
		})
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if err := d.managed.Start(ctx); err != nil {
			if errors.Is(err, db.ErrBinariesNotFound) {
				return nil, &exitError{code: 3, err: err}
			}
			return nil, fmt.Errorf("start the managed PostgreSQL cluster in %s: %w", dir.PostgresDir(), err)
		}
		logger.Info("managed PostgreSQL ready", "dir", dir.PostgresDir(), "duration_ms", time.Since(start).Milliseconds())
		d.dsn, d.poolDSN = d.managed.DSN(), d.managed.LocalDSN()
	}

	poolCfg := db.PoolConfig{MaxConns: cfg.Database.MaxConns, ConnectTimeout: cfg.Database.ConnectTimeout}
	// The owner pool carries the auth service's own queries (sign-ins, refreshes) besides
	// migrations and introspection, so it is sized like the request pool.
	adminCfg := poolCfg
	adminCfg.AppName = "goforward-admin"
	if d.admin == nil {
		if d.admin, err = db.Open(ctx, d.poolDSN, adminCfg); err != nil {
			return nil, err
		}
	}
	res, err := db.Migrate(ctx, d.admin, migrations.FS, logger)
	if err != nil {
		return nil, err
	}
	logger.Info("internal schema current", "version", res.Current, "applied", len(res.Applied))

	if d.request, err = d.openRequestPool(ctx, cfg, state, poolCfg, logger); err != nil {
		return nil, err
	}
	d.runner = db.NewRoleRunner(d.request, db.RunnerConfig{
		Timeouts: db.StatementTimeouts{
			Anon:          cfg.Database.StatementTimeout.Anon,
			Authenticated: cfg.Database.StatementTimeout.Authenticated,
			ServiceRole:   cfg.Database.StatementTimeout.ServiceRole,
		},
		Unprepared: !cfg.Database.PreparedStatements,
	})
	return d, nil
}

// openRequestPool connects as the authenticator role, which can do nothing but switch into
// the API roles: even SQL that resets the role inside a request ends up powerless. The managed
// cluster's authenticator password is generated and kept in the data directory; an external
// database needs database.authenticator_password; without it (outside production, which
// refuses to start) requests share the owner's connection, still switched into the API role
// by InRole.
func (d *database) openRequestPool(ctx context.Context, cfg config.Config, state datadir.State, poolCfg db.PoolConfig, logger *slog.Logger) (*pgxpool.Pool, error) {
	password := cfg.Database.AuthenticatorPassword
	if password == "" && d.managed != nil {
		password = state.AuthenticatorPassword
	}
	if password == "" {
		logger.Warn(ownerRequestsWarning)
		d.ownerRequests = true
		return d.admin, nil
	}
	if _, err := d.admin.Exec(ctx, "SELECT goforward.set_authenticator_password($1)", password); err != nil {
		if d.managed != nil {
			return nil, fmt.Errorf("set the authenticator password: %w", err)
		}
		logger.Info("could not set the authenticator password; assuming the database administrator did", "error", err.Error())
	}
	if d.borrowed {
		return authenticatorPool(ctx, d.admin, password)
	}
	dsn, err := db.WithCredentials(d.poolDSN, "authenticator", password)
	if err != nil {
		return nil, err
	}
	poolCfg.AppName = "goforward"
	pool, err := db.Open(ctx, dsn, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connect as authenticator: %w", err)
	}
	return pool, nil
}

// ready reports whether requests can be served: the authenticator connection works and the
// database carries the schema this binary expects.
func (d *database) ready(ctx context.Context) error {
	if d.managed != nil && !d.managed.Available() {
		return errors.New("database unavailable: the managed PostgreSQL server is restarting")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.request.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return db.SchemaCurrent(ctx, d.admin, migrations.FS)
}

// close closes the pools and stops the managed cluster. It uses its own timeout because the
// serve context is already cancelled when shutdown begins.
func (d *database) close(logger *slog.Logger) {
	if d.request != nil && d.request != d.admin {
		d.request.Close()
	}
	if d.admin != nil && !d.borrowed {
		d.admin.Close()
	}
	if d.managed != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		if err := d.managed.Stop(ctx); err != nil {
			logger.Error("stop managed PostgreSQL", "error", err)
			return
		}
		logger.Info("managed PostgreSQL stopped")
	}
}
