package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/realtime/replication"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/storage/blob"
)

// Embedding is what a program embedding Go Forward (the root package) adds to the commands:
// configuration from code, its own database pool and logger, function endpoints, routes,
// custom auth providers and lifecycle hooks. The zero value (and nil) adds nothing, which is
// the plain binary. Commands read it when they run, so it may be filled in after the command
// tree is built, up to Execute.
type Embedding struct {
	// Defaults changes the built-in configuration defaults; file, environment and flags still
	// override them (config.LoadOptions.Defaults).
	Defaults func(*config.Config)
	// Pool is the owner's connection serve uses instead of opening one from
	// database.url (which is then ignored); serve does not close it.
	Pool *pgxpool.Pool
	// Logger replaces the logger serve builds from the log section.
	Logger *slog.Logger
	// Functions are served under /functions/v1/{name} by the functions service.
	Functions []Function
	// Routes are mounted on the gateway outside every service (gateway.Gateway.Handle).
	Routes []Route
	// Providers are registered with the auth service for grant_type=custom.
	Providers []auth.CustomProvider
	// AuthHooks are the auth service's hooks (custom access token, before user created,
	// password verification attempt).
	AuthHooks auth.Hooks
	// OnBootstrap runs once the configuration is loaded and the database is open and
	// migrated, before the services are built; an error stops serve.
	OnBootstrap func(ctx context.Context, b Bootstrap) error
	// OnServe runs once the gateway is built, before it listens: it may add routes and change
	// the http.Server; an error stops serve.
	OnServe func(ctx context.Context, s ServeInfo) error
	// OnTerminate runs after the HTTP server has drained, before the database closes.
	OnTerminate func(ctx context.Context) error
	// ChangeTables are the tables ("schema.table") whose changes HandleChange receives, from
	// the change feed (internal/realtime/changefeed), at least once and in commit order.
	ChangeTables []string
	HandleChange func(ctx context.Context, ch *replication.Change) error
	// Background, when set by OnBootstrap, runs beside the services until serve stops (the
	// application's change hooks and scheduled jobs); an error stops serve.
	Background func(ctx context.Context) error
	// Realtime, when set, receives the realtime service's server-side broadcast once serve
	// has built it.
	Realtime func(broadcast func(ctx context.Context, topic, event string, payload json.RawMessage) error)
	// Auth, when set, receives a function creating users as POST /auth/v1/admin/users does
	// for the service role (body and answer are that endpoint's JSON) once serve has built
	// the auth service.
	Auth func(createUser func(ctx context.Context, body json.RawMessage) (json.RawMessage, error))
	// Storage, when set, receives the storage service's routes (full /storage/v1 paths,
	// without the gateway: the caller puts the principal in the request's context) once
	// serve has built the service.
	Storage func(h http.Handler)
	// StorageBackends are blob backends storage.backend may name besides local and s3.
	StorageBackends map[string]blob.Backend
}

// Function is a handler served at /functions/v1/{Name} (and below it).
type Function struct {
	Name    string
	Handler http.Handler
}

// Route is an application route: a ServeMux pattern and its handler.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Bootstrap is what serve has ready when OnBootstrap runs.
type Bootstrap struct {
	Config config.Config
	// Owner is the database owner's pool; Runner runs SQL as an API role (the RLS bridge).
	Owner  *pgxpool.Pool
	Runner *db.RoleRunner
	// Keys verifies tokens as the gateway does.
	Keys *security.Keys
	// Logger is serve's logger.
	Logger *slog.Logger
}

// ServeInfo is what OnServe may change.
type ServeInfo struct {
	Config config.Config
	// Server is the http.Server that will serve the gateway; its BaseContext is reset.
	Server *http.Server
	// Handle adds an application route, as Embedding.Routes.
	Handle func(pattern string, h http.Handler) error
}

// NewEmbeddedRootCmd is NewRootCmd for a program embedding Go Forward.
func NewEmbeddedRootCmd(stdout, stderr io.Writer, e *Embedding) *cobra.Command {
	return newRootCmd(stdout, stderr, e)
}

// Execute runs root with args and returns its error, after writing it to stderr as Run does.
// ExitCode gives the process exit code for it.
func Execute(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) error {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
	}
	return err
}

// ExitCode is the process exit code for an error from Execute: 0 for nil, the command's own
// code (2 invalid configuration, 3 PostgreSQL missing, 4 busy) when it set one, else 1.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func (e *Embedding) defaults() func(*config.Config) {
	if e == nil {
		return nil
	}
	return e.Defaults
}

func (e *Embedding) storageBackendNames() []string {
	if e == nil {
		return nil
	}
	names := make([]string, 0, len(e.StorageBackends))
	for name := range e.StorageBackends {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (e *Embedding) storageBackend(name string) blob.Backend {
	if e == nil {
		return nil
	}
	return e.StorageBackends[name]
}

func (e *Embedding) pool() *pgxpool.Pool {
	if e == nil {
		return nil
	}
	return e.Pool
}

func (e *Embedding) providers() []auth.CustomProvider {
	if e == nil {
		return nil
	}
	return e.Providers
}

func (e *Embedding) authHooks() auth.Hooks {
	if e == nil {
		return auth.Hooks{}
	}
	return e.AuthHooks
}

func (e *Embedding) functions() []Function {
	if e == nil {
		return nil
	}
	return e.Functions
}

// logger is the embedder's logger, or the one the log section describes.
func (e *Embedding) logger(cfg config.LogConfig, stderr io.Writer) *slog.Logger {
	if e != nil && e.Logger != nil {
		return e.Logger
	}
	return newLogger(cfg, stderr)
}

func (e *Embedding) bootstrap(ctx context.Context, cfg config.Config, d *database, keys *security.Keys, logger *slog.Logger) error {
	if e == nil || e.OnBootstrap == nil {
		return nil
	}
	return e.OnBootstrap(ctx, Bootstrap{Config: cfg, Owner: d.admin, Runner: d.runner, Keys: keys, Logger: logger})
}

func (e *Embedding) background() func(ctx context.Context) error {
	if e == nil {
		return nil
	}
	return e.Background
}

// serve mounts the application routes on gw, runs OnServe and returns the server to run.
func (e *Embedding) serve(ctx context.Context, cfg config.Config, gw *gateway.Gateway) (*http.Server, error) {
	srv := gw.NewServer()
	if e == nil {
		return srv, nil
	}
	for _, r := range e.Routes {
		if err := gw.Handle(r.Pattern, r.Handler); err != nil {
			return nil, err
		}
	}
	if e.OnServe == nil {
		return srv, nil
	}
	if err := e.OnServe(ctx, ServeInfo{Config: cfg, Server: srv, Handle: gw.Handle}); err != nil {
		return nil, err
	}
	return srv, nil
}

// terminate runs OnTerminate with a context of its own: serve's is already cancelled.
func (e *Embedding) terminate() error {
	if e == nil || e.OnTerminate == nil {
		return nil
	}
	return e.OnTerminate(context.Background())
}
