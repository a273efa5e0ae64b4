package cli

import (
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/rest"
)

// restService builds the PostgREST-compatible /rest/v1 service. Its background loop keeps the
// schema cache current (NOTIFY pgrst, 'reload schema').
func restService() serviceBuilder {
	return serviceBuilder{name: "rest", build: func(d serviceDeps) (builtService, error) {
		deps := rest.Deps{Owner: d.admin, Runner: d.runner, Logger: d.logger}
		if d.tables != nil {
			deps.Overlays = d.tables
		}
		if d.replicas != nil {
			deps.Replicas = d.replicas
		}
		svc, err := rest.New(rest.Config{Schemas: d.cfg.REST.Schemas, MaxRows: d.cfg.REST.MaxRows,
			ExtraSearchPath: d.cfg.REST.ExtraSearchPath, AggregatesEnabled: d.cfg.REST.AggregatesEnabled,
			PlanEnabled: d.cfg.REST.PlanEnabled, PlanAnon: d.cfg.REST.PlanAnon}, deps)
		if err != nil {
			return builtService{}, err
		}
		return builtService{
			Service: gateway.Service{Name: "rest", Prefix: rest.Prefix, Mount: svc.Mount},
			run:     svc.Run,
		}, nil
	}}
}
