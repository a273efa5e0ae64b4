package cli

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
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
// /admin/v1/rest/v1, is mounted with it (adminTables), and so is storage for admins,
// /admin/v1/storage/v1 (adminStorage).
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
		cfg, err := adminConfig(d.cfg)
		if err != nil {
			return builtService{}, err
		}
		deps := admin.Deps{
			Pool: d.admin, Sessions: sessions, Keys: d.keys, Logger: d.logger, Now: d.clock, SignIn: authSvc, Users: authSvc,
			Migrations: migrationService(d.admin, d.cfg, d.logger), AuditDir: audit.Dir(d.dir),
		}
		if d.guard != nil {
			deps.Blocks = d.guard
		}
		svc := admin.New(cfg, deps)
		tables, err := newAdminTables(d, sessions)
		if err != nil {
			return builtService{}, err
		}
		files := newAdminStorage(d, sessions)
		mount := func(mux *http.ServeMux) {
			svc.Mount(mux)
			tables.mount(mux)
			files.mount(mux)
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
func adminConfig(cfg config.Config) (admin.Config, error) {
	settings, err := redactedSettings(cfg)
	if err != nil {
		return admin.Config{}, err
	}
	return admin.Config{
		Environment:   cfg.Environment,
		SecureCookies: strings.HasPrefix(cfg.Server.PublicURL, "https://"),
		Version:       version,
		Services:      cfg.Services,
		StartedAt:     time.Now().UTC(),
		Settings:      settings,
	}, nil
}

// redactedSettings is the configuration as goforward.yaml would hold it, secrets redacted,
// as a JSON-ready tree (GET /admin/v1/settings): the YAML rendering already names every key
// as the file does and writes durations as people write them ("30m").
func redactedSettings(cfg config.Config) (map[string]any, error) {
	raw, err := cfg.Redacted().YAML()
	if err != nil {
		return nil, fmt.Errorf("admin settings: %w", err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("admin settings: %w", err)
	}
	return tree, nil
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
