package db

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CancelGrace is how long a connection whose query's context ended waits for PostgreSQL to
// answer the cancel request before it is closed after all (a server that does not answer).
const CancelGrace = 5 * time.Second

// KeepConnectionOnCancel makes connections of cfg survive a cancelled context: instead of
// pgx's default (a read deadline that breaks off the exchange, after which the connection is
// closed and the pool opens a new one), the statement running is cancelled with PostgreSQL's
// cancel request, the connection reads the server's answer and stays in the pool. A client
// that goes away mid-request is normal traffic, and reconnecting for each one would cost a
// backend, its caches and the prepared statements. Open applies it to every pool.
func KeepConnectionOnCancel(cfg *pgconn.Config) {
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: CancelGrace}
	}
}

// PoolConfig tunes a connection pool.
type PoolConfig struct {
	MaxConns       int32         // 0 = 4 × GOMAXPROCS, which did best on small machines
	ConnectTimeout time.Duration // 0 = 10s
	AppName        string        // application_name shown in pg_stat_activity; "" = goforward
}

// Open connects a pool to dsn and checks that the server answers. The returned error never
// contains the DSN's password.
func Open(ctx context.Context, dsn string, cfg PoolConfig) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url %s: %w", RedactURL(dsn), err)
	}
	pc.MaxConns = cfg.MaxConns
	if pc.MaxConns <= 0 {
		pc.MaxConns = int32(4 * runtime.GOMAXPROCS(0))
	}
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	if pc.ConnConfig.ConnectTimeout <= 0 {
		pc.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	appName := cfg.AppName
	if appName == "" {
		appName = "goforward"
	}
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	pc.ConnConfig.RuntimeParams["application_name"] = appName
	KeepConnectionOnCancel(&pc.ConnConfig.Config)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", RedactURL(dsn), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, pc.ConnConfig.ConnectTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", RedactURL(dsn), err)
	}
	return pool, nil
}

// WithCredentials returns dsn with its user and password replaced, keeping host, port,
// database and options. It is how the request pool reaches the same server as authenticator.
func WithCredentials(dsn, user, password string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("database url must be a postgres:// URL to derive the authenticator's connection")
	}
	u.User = url.UserPassword(user, password)
	return u.String(), nil
}

// RedactURL hides the password of a postgres:// or redis:// URL for logs and errors.
// Strings that do not parse as URLs are replaced entirely, since they may be key=value DSNs
// holding a password.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	// A unix socket URL names its directory in the query (postgres://u:p@/db?host=/run).
	if err != nil || u.Scheme == "" || (u.Host == "" && !u.Query().Has("host")) {
		return "[redacted dsn]"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "redacted")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
