package cli

import (
	"strings"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/admin"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/gateway"
)

// adminService builds Go Forward's own control-plane API, /admin/v1.
func adminService() serviceBuilder {
	return serviceBuilder{name: "admin", build: func(d serviceDeps) (builtService, error) {
		// The admin service manages users with auth's own code, whether or not /auth/v1 is
		// mounted beside it.
		users, err := newAuthService(d)
		if err != nil {
			return builtService{}, err
		}
		svc := admin.New(admin.Config{
			Environment:   d.cfg.Environment,
			SecureCookies: strings.HasPrefix(d.cfg.Server.PublicURL, "https://"),
		}, admin.Deps{Pool: d.admin, Sessions: adminSessions(d.cfg), Keys: d.keys, Users: users, Logger: d.logger})
		return builtService{
			Service: gateway.Service{Name: "admin", Prefix: admin.Prefix, Mount: svc.Mount, Open: admin.OpenPaths},
		}, nil
	}}
}

// auth.Service is the user management the admin service reuses.
var _ admin.Users = (*auth.Service)(nil)

// adminSessions is the admin session store as configured; serve and the CLI share it.
func adminSessions(cfg config.Config) *access.Sessions {
	return access.NewSessions(access.SessionConfig{
		IdleTimeout: cfg.Admin.SessionIdleTimeout, MaxAge: cfg.Admin.SessionMaxAge,
	}, nil)
}
