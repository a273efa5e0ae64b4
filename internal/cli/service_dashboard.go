package cli

import (
	dashboardfiles "github.com/goforward/goforward/dashboard"
	"github.com/goforward/goforward/internal/admin"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/dashboard"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgmeta"
	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/rest"
	"github.com/goforward/goforward/internal/storage"
)

// apiPaths are the paths of every API this binary can serve, mounted or not, and of the
// gateway's own routes, plus /functions (the design's custom endpoints): the dashboard
// refuses to start with a page under any of them, so which services run never changes what
// a path means.
var apiPaths = []string{
	auth.Prefix, rest.Prefix, realtime.Prefix, storage.Prefix, admin.Prefix, pgmeta.Prefix,
	"/functions/v1", "/health", "/ready", "/metrics",
}

// dashboardService builds the admin dashboard at /: the embedded static export of
// dashboard/. It talks to /admin/v1 and the other APIs from the browser, so a node serving
// it alone shows a dashboard whose every request fails; run it beside admin.
func dashboardService() serviceBuilder {
	return serviceBuilder{name: "dashboard", build: func(d serviceDeps) (builtService, error) {
		svc, err := dashboard.New(dashboard.Config{Reserved: apiPaths}, dashboard.Deps{Files: dashboardfiles.Files(), Logger: d.logger})
		if err != nil {
			return builtService{}, err
		}
		return builtService{
			Service: gateway.Service{Name: "dashboard", Prefix: dashboard.Prefix, Mount: svc.Mount, Open: dashboard.OpenPaths},
		}, nil
	}}
}
