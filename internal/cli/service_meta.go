package cli

import (
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgmeta"
)

// metaService builds the postgres-meta-compatible database API, /pg. It authenticates every
// request itself (admin session or service-role key), like /admin/v1.
func metaService() serviceBuilder {
	return serviceBuilder{name: "meta", build: func(d serviceDeps) (builtService, error) {
		svc := pgmeta.New(pgmeta.Config{}, pgmeta.Deps{
			Pool: d.admin, Sessions: adminSessions(d.cfg), Keys: d.keys, Logger: d.logger,
		})
		return builtService{
			Service: gateway.Service{Name: "meta", Prefix: pgmeta.Prefix, Mount: svc.Mount, Open: pgmeta.OpenPaths},
		}, nil
	}}
}
