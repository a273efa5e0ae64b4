package cli

import (
	"strings"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/admin"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/gateway"
)

// adminService builds Go Forward's own control-plane API, /admin/v1.
func adminService() serviceBuilder {
	return serviceBuilder{name: "admin", build: func(d serviceDeps) (builtService, error) {
		svc := admin.New(admin.Config{
			Environment:   d.cfg.Environment,
			SecureCookies: strings.HasPrefix(d.cfg.Server.PublicURL, "https://"),
		}, admin.Deps{Pool: d.admin, Sessions: adminSessions(d.cfg), Keys: d.keys, Logger: d.logger,
			AuditDir: audit.Dir(d.dir)})
		return builtService{
			Service: gateway.Service{Name: "admin", Prefix: admin.Prefix, Mount: svc.Mount, Open: admin.OpenPaths},
		}, nil
	}}
}

// adminSessions is the admin session store as configured; serve and the CLI share it.
func adminSessions(cfg config.Config) *access.Sessions {
	return access.NewSessions(access.SessionConfig{
		IdleTimeout: cfg.Admin.SessionIdleTimeout, MaxAge: cfg.Admin.SessionMaxAge,
	}, nil)
}
