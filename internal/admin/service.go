// Package admin is Go Forward's own control-plane API at /admin/v1: admin sessions, admins
// and their levels, user management for admins, and the audit log. Who may call what is
// decided by internal/access's one capability table; every route declares the capability it
// needs, and every change is written to the audit log in the transaction that makes it.
package admin

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// Prefix is where the service is mounted.
const Prefix = "/admin/v1"

// OpenPaths need no apikey at the gateway: the service authenticates every request itself
// (admin session, cookie with CSRF token, or the service-role key), and signing in needs none.
var OpenPaths = []string{Prefix + "/"}

// Config is the service's configuration.
type Config struct {
	// Environment is development, staging or production; it decides which levels must sign
	// in with a second factor and whether sign-in over plain http is allowed.
	Environment string
	// SecureCookies marks the dashboard's session cookie Secure (the public URL is https).
	SecureCookies bool
}

// Deps are the service's collaborators.
type Deps struct {
	// Pool is the owner's connection: admin tables, sessions and the audit log are out of
	// every API role's reach.
	Pool     *pgxpool.Pool
	Sessions *access.Sessions
	Keys     *security.Keys
	Logger   *slog.Logger
	// AuditDir is audit.Dir(data directory): the chain head the sealer records and the
	// retention archives, which GET /audit/verify reads. "" verifies the database alone.
	AuditDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service serves /admin/v1.
type Service struct {
	cfg    Config
	pool   *pgxpool.Pool
	auth   *access.Authenticator
	logger *slog.Logger
	now    func() time.Time

	auditDir string // Deps.AuditDir
}

// New builds the service.
func New(cfg Config, deps Deps) *Service {
	s := &Service{
		cfg:    cfg,
		pool:   deps.Pool,
		auth:   &access.Authenticator{Pool: deps.Pool, Sessions: deps.Sessions, Keys: deps.Keys},
		logger: deps.Logger,
		now:    deps.Now,
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.auditDir = deps.AuditDir
	return s
}

// Mount registers every route.
func (s *Service) Mount(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+Prefix+rt.path, httpx.Handle(renderError, s.guard(rt)))
	}
}
