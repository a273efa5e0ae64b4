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
	"github.com/goforward/goforward/internal/alerts"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/tablesecurity"
	"github.com/goforward/goforward/internal/usermigrations"
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
	// SecureCookies marks the dashboard's session cookie Secure: the public URL is https,
	// which is also what lets production admit sign-in from other hosts than this one.
	SecureCookies bool
	// Version, Services and StartedAt describe the node at GET /server.
	Version   string
	Services  []string
	StartedAt time.Time
	// Settings is the effective configuration with its secrets redacted, keyed as in
	// goforward.yaml, shown at GET /settings. Nil shows an empty object.
	Settings map[string]any
}

// Deps are the service's collaborators.
type Deps struct {
	// Pool is the owner's connection: admin tables, sessions and the audit log are out of
	// every API role's reach.
	Pool     *pgxpool.Pool
	Sessions *access.Sessions
	Keys     *security.Keys
	// Users is auth's user management (*auth.Service), which /users and new admins use.
	Users  Users
	Logger *slog.Logger
	// AuditDir is audit.Dir(data directory): the chain head the sealer records and the
	// retention archives, which GET /audit/verify reads. "" verifies the database alone.
	AuditDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SignIn checks admins' passwords and second factors with auth's own code. Nil: sign-in
	// answers 503 (the other routes still serve sessions opened elsewhere).
	SignIn SignInAuth
	// Migrations is the project's migration service (/migrations). Nil: those routes answer
	// 503.
	Migrations *usermigrations.Service
	// Blocks lifts the address block of a block_ip alert when it is resolved (the gateway's
	// guard). Nil: a block lasts its time.
	Blocks alerts.Unblocker
}

// Service serves /admin/v1.
type Service struct {
	cfg      Config
	pool     *pgxpool.Pool
	auth     *access.Authenticator
	logger   *slog.Logger
	now      func() time.Time
	signIn   SignInAuth
	manage   *Manager
	mig      *usermigrations.Service // nil: no migrations on this node
	auditDir string                  // Deps.AuditDir
	tables   *tablesecurity.Service
	blocks   alerts.Unblocker // nil: none
}

// New builds the service.
func New(cfg Config, deps Deps) *Service {
	s := &Service{
		cfg:    cfg,
		pool:   deps.Pool,
		auth:   &access.Authenticator{Pool: deps.Pool, Sessions: deps.Sessions, Keys: deps.Keys},
		logger: deps.Logger,
		now:    deps.Now,
		signIn: deps.SignIn,
		mig:    deps.Migrations,
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.manage = NewManager(deps.Pool, deps.Users, deps.Sessions, s.logger)
	s.auditDir = deps.AuditDir
	s.tables = tablesecurity.NewService(deps.Pool, s.logger)
	s.blocks = deps.Blocks
	return s
}

// Mount registers every route.
func (s *Service) Mount(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		render := renderError
		if rt.public != nil {
			render = s.publicRenderer()
		}
		mux.Handle(rt.method+" "+Prefix+rt.path, httpx.Handle(render, s.guard(rt)))
	}
}
