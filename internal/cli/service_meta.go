package cli

import (
	"context"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgmeta"
)

// metaService builds the postgres-meta-compatible database API, /pg, with the guarded SQL
// runner (sql.*). It authenticates every request itself (admin session or service-role key),
// like /admin/v1. Its background loop only closes the SQL runner's connections at shutdown.
func metaService() serviceBuilder {
	return serviceBuilder{name: "meta", build: func(d serviceDeps) (builtService, error) {
		svc := pgmeta.New(pgmeta.Config{SQL: pgmeta.SQLConfig{
			StatementTimeout: d.cfg.SQL.StatementTimeout,
			RequestTimeout:   d.cfg.SQL.RequestTimeout,
			MaxRows:          d.cfg.SQL.MaxRows,
			MaxConns:         d.cfg.SQL.MaxConns,
		}}, pgmeta.Deps{
			Pool: d.admin, Sessions: adminSessions(d.cfg), Keys: d.keys, Logger: d.logger,
		})
		return builtService{
			Service: gateway.Service{Name: "meta", Prefix: pgmeta.Prefix, Mount: svc.Mount, Open: pgmeta.OpenPaths},
			run: func(ctx context.Context) error {
				<-ctx.Done()
				svc.Close()
				return nil
			},
		}, nil
	}}
}
