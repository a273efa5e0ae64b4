// Package pgmeta is the database meta API at /pg, compatible with Supabase's postgres-meta
// (the API Supabase Studio manages a database through): tables, columns, views, functions,
// policies, roles and the rest of the catalog listed and described in postgres-meta's shapes,
// relationships, the TypeScript types generator, and the changes that create, alter and drop
// them.
//
// Every request is authorized here, not at the gateway: an admin session holding
// can_manage_database (reads also can_view_dashboard), or the service-role key, as self-hosted
// Supabase guards its /pg route with the service key. Catalog queries run on the owner's
// connection, which sees every object; every change runs in one transaction with its audit
// entry.
package pgmeta

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/sqlguard"
)

// Prefix is where the service is mounted: self-hosted Supabase serves postgres-meta at /pg.
const Prefix = "/pg"

// OpenPaths need no apikey at the gateway: the service authenticates every request itself
// (admin session, the dashboard's cookie with its CSRF token, or the service-role key).
var OpenPaths = []string{Prefix + "/"}

// Config is the service's configuration. The zero value is ready to use.
type Config struct {
	// QueryTimeout bounds every catalog query and change; 0 means 30 seconds.
	QueryTimeout time.Duration
	// SQL configures the guarded SQL runner, POST /pg/query.
	SQL SQLConfig
}

// SQLConfig configures POST /pg/query. Zero values mean the defaults given.
type SQLConfig struct {
	// StatementTimeout is PostgreSQL's statement_timeout on the runner's connections: the
	// longest one statement may run. Default 30 seconds.
	StatementTimeout time.Duration
	// RequestTimeout bounds a whole request, whatever its SQL sets statement_timeout to; the
	// connection is closed when it runs out. Default: StatementTimeout plus 30 seconds.
	RequestTimeout time.Duration
	// MaxRows is the most rows answered per statement; the rest are read and dropped, and
	// the answer says it was truncated. Default 10,000.
	MaxRows int
	// MaxConns is how many connections the runner holds at most, apart from Deps.Pool, so
	// that long queries never take the catalog's and the changes' connections. Default 4.
	MaxConns int32
}

func (c SQLConfig) withDefaults() SQLConfig {
	if c.StatementTimeout <= 0 {
		c.StatementTimeout = 30 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = c.StatementTimeout + 30*time.Second
	}
	if c.MaxRows <= 0 {
		c.MaxRows = 10000
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 4
	}
	return c
}

// Deps are the service's collaborators.
type Deps struct {
	// Pool is the owner's connection: the catalogs are read, and changes made, as the role
	// that owns the application's schemas, as postgres-meta connects as postgres.
	// The SQL runner opens its own few connections with the same settings (SQLConfig).
	Pool     *pgxpool.Pool
	Sessions *access.Sessions
	Keys     *security.Keys
	Logger   *slog.Logger
}

// Service serves /pg.
type Service struct {
	cfg      Config
	pool     *pgxpool.Pool
	auth     *access.Authenticator
	analyzer *sqlguard.Analyzer
	entries  *entryBatcher // the SQL runner's audit entries
	logger   *slog.Logger

	// The SQL runner's pool, made at its first request (sqlPool).
	sqlOnce    sync.Once
	sqlPoolV   *pgxpool.Pool
	sqlPoolErr error
}

// New builds the service.
func New(cfg Config, deps Deps) *Service {
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 30 * time.Second
	}
	cfg.SQL = cfg.SQL.withDefaults()
	s := &Service{
		cfg:  cfg,
		pool: deps.Pool,
		auth: &access.Authenticator{Pool: deps.Pool, Sessions: deps.Sessions, Keys: deps.Keys},
		// Volatility is looked up on the owner's pool, whose search path is the one the
		// runner's connections start with.
		analyzer: &sqlguard.Analyzer{Catalog: sqlguard.NewCatalog(deps.Pool)},
		entries:  &entryBatcher{pool: deps.Pool},
		logger:   deps.Logger,
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return s
}

// Mount registers every route.
func (s *Service) Mount(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+Prefix+rt.path, httpx.Handle(renderError, s.guard(rt)))
	}
}
