// Package rest is Go Forward's PostgREST-compatible API at /rest/v1: supabase-js's query
// builder (postgrest-js) works against it unchanged.
//
// A request goes parse → plan → build → run: Parse reads PostgREST's query grammar, Plan
// checks every name against the schema cache (internal/meta), Build renders one SQL statement
// with every value a bind argument, and the statement runs as the caller's role through
// db.RoleRunner, pipelined with the role and claims settings, so row-level security decides
// what each caller sees and changes. PostgreSQL builds the JSON body (json_agg); the service
// copies it to the client without decoding it.
package rest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/meta"
)

// Config configures the REST service.
type Config struct {
	// Schemas are the schemas exposed through the API; the first is the default a request
	// gets without Accept-Profile / Content-Profile. Default: public.
	Schemas []string
	// MaxRows caps the rows of every read whatever limit is asked for (PostgREST's
	// db-max-rows); 0 means no cap.
	MaxRows int
	// OpenAPIDisabled turns the OpenAPI description at GET /rest/v1/ off (404 PGRST126).
	OpenAPIDisabled bool
	// AggregatesEnabled allows aggregate functions in select= (count(), col.sum(), avg, max,
	// min), as PostgREST's db-aggregates-enabled. Default false: they are refused (PGRST123),
	// since an aggregate over a large table is an easy way to load the database.
	AggregatesEnabled bool
	// PlanEnabled lets a request ask for its execution plan with Accept:
	// application/vnd.pgrst.plan[+json|+text] (PostgREST's db-plan-enabled). Default false:
	// such requests get 406 PGRST107, as if the media type did not exist.
	PlanEnabled bool
	// PlanAnon lets anon ask for plans too when PlanEnabled. Default false: only
	// authenticated callers and service_role may.
	PlanAnon bool
	// ExtraSearchPath follows the requested schema in each request's search_path, as
	// PostgREST's db-extra-search-path: functions called by a request resolve unqualified
	// names in the requested schema first, then in these. Nil: none.
	ExtraSearchPath []string
}

// Deps are the service's collaborators.
type Deps struct {
	// Owner is a pool connecting as a role that sees every exposed object; the schema cache
	// reads the catalogs and listens for reload notifications through it. Required.
	Owner *pgxpool.Pool
	// Runner runs requests as the caller's role. Required.
	Runner *db.RoleRunner
	// Logger receives the service's logs. Nil: slog.Default().
	Logger *slog.Logger
	// Admit, when set, decides who each request runs as and what it may reach, instead of the
	// JWT the gateway verified: Go Forward mounts a second instance this way for admin
	// sessions (/admin/v1/rest/v1). Its error is the answer. Nil: the gateway's JWT.
	Admit func(r *http.Request) (Admission, error)
	// Overlays are the views restricted roles read tables through (tablesecurity.go). Nil:
	// none.
	Overlays Overlays
	// Replicas lend reads a streaming replica (replicas.go). Nil: every request runs on Runner.
	Replicas ReadReplicas
}

// Service serves /rest/v1.
type Service struct {
	cfg Config
	// searchPaths is the search_path of a request to each exposed schema.
	searchPaths map[string]string
	runner      *db.RoleRunner
	inspector   *meta.Inspector
	logger      *slog.Logger
	admit       func(r *http.Request) (Admission, error)
	overlays    Overlays
	replicas    ReadReplicas
}

// New builds the service. It does no I/O: the schema cache is loaded by Run, or by the
// first request if that comes first.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Owner == nil || deps.Runner == nil {
		return nil, errors.New("rest: the owner pool and the role runner are required")
	}
	if len(cfg.Schemas) == 0 {
		cfg.Schemas = []string{"public"}
	}
	cfg.Schemas = slices.Clone(cfg.Schemas)
	if cfg.MaxRows < 0 {
		cfg.MaxRows = 0
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{
		cfg:         cfg,
		searchPaths: searchPaths(cfg.Schemas, cfg.ExtraSearchPath),
		runner:      deps.Runner,
		inspector: meta.NewInspector(deps.Owner, meta.Config{
			Schemas: cfg.Schemas,
			// Statements prepared for the old schema may have inferred parameter types it
			// no longer has.
			Changed: deps.Runner.ForgetPreparedStatements,
		}, logger),
		logger:   logger,
		admit:    deps.Admit,
		overlays: deps.Overlays,
		replicas: deps.Replicas,
	}, nil
}

// Mount registers the service's routes.
func (s *Service) Mount(mux *http.ServeMux) {
	handler := httpx.Handle(renderError, s.serve)
	mux.Handle(Prefix+"/", handler)
	mux.Handle(Prefix+"/{$}", handler)
}

// Run keeps the schema cache current until ctx ends (see meta.Inspector.Run).
func (s *Service) Run(ctx context.Context) error { return s.inspector.Run(ctx) }

// ReloadSchema reloads the schema cache now, as NOTIFY pgrst, 'reload schema' would.
func (s *Service) ReloadSchema(ctx context.Context) error {
	_, err := s.inspector.Reload(ctx)
	return err
}

// searchPaths renders, for each exposed schema, the search_path of a request to it: that
// schema, then the extra ones (quoted identifiers; a schema listed twice is harmless, and
// PostgREST lists it so).
func searchPaths(schemas, extra []string) map[string]string {
	out := make(map[string]string, len(schemas))
	for _, schema := range schemas {
		path := append([]string{schema}, extra...)
		quoted := make([]string, len(path))
		for i, name := range path {
			quoted[i] = quoteIdent(name)
		}
		out[schema] = strings.Join(quoted, ", ")
	}
	return out
}
