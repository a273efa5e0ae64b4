package cli

import (
	"context"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/admin"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/gateway"
)

// adminService builds Go Forward's own control-plane API, /admin/v1. Admins sign in with
// auth's code (passwords, lockout, second factors), through the server's one auth service
// (serviceDeps.authService), which is built for it even when /auth/v1 is not mounted; its
// background work then runs with the admin service. Table data for admins,
// /admin/v1/rest/v1, is mounted with it (adminTables).
func adminService() serviceBuilder {
	return serviceBuilder{name: "admin", build: func(d serviceDeps) (builtService, error) {
		authSvc, err := d.authService()
		if err != nil {
			return builtService{}, err
		}
		sessions := adminSessions(d.cfg)
		if d.clock != nil {
			sessions = newAdminSessions(d.cfg, d.clock)
		}
		deps := admin.Deps{
			Pool: d.admin, Sessions: sessions, Keys: d.keys, Logger: d.logger, Now: d.clock, SignIn: authSvc, Users: authSvc,
			Migrations: migrationService(d.admin, d.cfg, d.logger), AuditDir: audit.Dir(d.dir),
		}
		if d.guard != nil {
			deps.Blocks = d.guard
		}
		svc := admin.New(adminConfig(d.cfg), deps)
		tables, err := newAdminTables(d, sessions)
		if err != nil {
			return builtService{}, err
		}
		mount := func(mux *http.ServeMux) {
			svc.Mount(mux)
			tables.mount(mux)
		}
		built := builtService{
			Service: gateway.Service{Name: "admin", Prefix: admin.Prefix, Mount: mount, Open: admin.OpenPaths},
			run:     tables.run,
		}
		if !d.cfg.ServiceEnabled("auth") {
			built.run = func(ctx context.Context) error {
				g, gctx := errgroup.WithContext(ctx)
				g.Go(func() error { return authSvc.Run(gctx) })
				g.Go(func() error { return tables.run(gctx) })
				return g.Wait()
			}
		}
		return built, nil
	}}
}

// adminConfig maps the configuration onto the admin service's Config.
func adminConfig(cfg config.Config) admin.Config {
	return admin.Config{
		Environment:   cfg.Environment,
		SecureCookies: strings.HasPrefix(cfg.Server.PublicURL, "https://"),
	}
}

// auth.Service is the sign-in and user management the admin service reuses.
var (
	_ admin.SignInAuth = (*auth.Service)(nil)
	_ admin.Users      = (*auth.Service)(nil)
)

// adminSessions is the admin session store as configured; serve and the CLI share it.
func adminSessions(cfg config.Config) *access.Sessions { return newAdminSessions(cfg, nil) }

// newAdminSessions is adminSessions on a clock (nil: time.Now).
func newAdminSessions(cfg config.Config, now func() time.Time) *access.Sessions {
	return access.NewSessions(access.SessionConfig{
		IdleTimeout: cfg.Admin.SessionIdleTimeout, MaxAge: cfg.Admin.SessionMaxAge,
	}, now)
}
