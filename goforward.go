// Package goforward embeds Go Forward in a Go program and extends it with Go code, as
// PocketBase is used as a framework: New builds an App, its registration methods add function
// endpoints (Function), routes (Handle), custom auth providers (AuthProvider), auth hooks
// (OnCustomAccessToken, OnBeforeUserCreated, OnPasswordVerificationAttempt,
// OnMFAVerificationAttempt, OnSendEmail, OnSendSMS), database change
// hooks (OnChange), scheduled jobs (Cron) and lifecycle hooks (OnBootstrap, OnServe,
// OnTerminate), and Execute runs the same command line as the
// goforward binary (serve, status, admin, migrate, ...), to which a program may add its own
// Cobra commands through RootCmd.
//
// Everything is registered before Execute or Start; the registration methods are not meant
// to be called while the server runs. docs/framework.md walks through building an app.
package goforward

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/cli"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/cron"
	"github.com/goforward/goforward/internal/security"
)

// Config is Go Forward's whole configuration: the tree goforward.yaml, GOFORWARD_*
// environment variables and flags fill (docs/configuration.md). WithConfig changes its
// defaults from code.
type Config = config.Config

// App is one Go Forward server with the program's extensions. Build it with New.
type App struct {
	mu          sync.Mutex
	emb         cli.Embedding
	defaults    []func(*Config)
	root        *cobra.Command
	functions   map[string]bool
	providers   map[string]bool
	onBootstrap Hook[*BootstrapEvent]
	onServe     Hook[*ServeEvent]
	onTerminate Hook[*TerminateEvent]

	onAccessToken          Hook[*AccessTokenEvent]
	onUserCreate           Hook[*UserCreateEvent]
	onPasswordVerification Hook[*PasswordVerificationEvent]
	onMFAVerification      Hook[*MFAVerificationEvent]
	onSendEmail            Hook[*SendEmailEvent]
	onSendSMS              Hook[*SendSMSEvent]
	changeHandlers         map[string][]ChangeHandler
	cronJobs               []cron.Job
	db                     *database      // set by serve at bootstrap
	keys                   *security.Keys // set by serve at bootstrap
	// broadcast is the realtime service's, set by serve once it is built.
	broadcast func(ctx context.Context, topic, event string, payload json.RawMessage) error
	// createUser is the auth service's, set by serve once it is built.
	createUser func(ctx context.Context, body json.RawMessage) (json.RawMessage, error)
	// storage is the storage service's routes, set by serve once it is built.
	storage http.Handler
}

// Option configures an App in New.
type Option func(*App)

// WithConfig changes the configuration defaults from code. The configuration file,
// GOFORWARD_* environment variables and command-line flags still override what fn sets, as
// they override the built-in defaults, so an operator keeps the last word; fn sees the
// built-in defaults (and what earlier WithConfig options set). Values are validated like
// any other: an invalid one makes every command fail with exit code 2.
func WithConfig(fn func(*Config)) Option {
	return func(a *App) { a.defaults = append(a.defaults, fn) }
}

// WithPool makes serve use pool as the database owner's connection (migrations, auth's own
// tables, schema introspection, realtime's replication) instead of opening one from
// database.url. Go Forward never closes it. Requests still run as the API roles: when
// database.authenticator_password is set, serve opens a second pool to the same server as
// the authenticator role, else requests share pool, switched into the API role per
// transaction (production refuses that, as it does for database.url).
func WithPool(pool *pgxpool.Pool) Option {
	return func(a *App) { a.emb.Pool = pool }
}

// WithLogger replaces the logger serve builds from the log section of the configuration.
func WithLogger(logger *slog.Logger) Option {
	return func(a *App) { a.emb.Logger = logger }
}

// New returns an App configured by opts.
func New(opts ...Option) *App {
	a := &App{functions: map[string]bool{}, providers: map[string]bool{}}
	for _, opt := range opts {
		opt(a)
	}
	if len(a.defaults) > 0 {
		fns := a.defaults
		a.emb.Defaults = func(c *Config) {
			for _, fn := range fns {
				fn(c)
			}
		}
	}
	a.emb.OnBootstrap = a.bootstrap
	a.emb.OnServe = a.serve
	a.emb.OnTerminate = a.terminate
	a.emb.Realtime = a.setBroadcast
	a.emb.Auth = a.setCreateUser
	a.emb.Storage = a.setStorage
	a.root = cli.NewEmbeddedRootCmd(cmdWriter{a, false}, cmdWriter{a, true}, &a.emb)
	// The commands write through cmdWriter to whatever RootCmd's SetOut and SetErr chose
	// (os.Stdout and os.Stderr unless a program changes them).
	a.root.SetOut(nil)
	a.root.SetErr(nil)
	return a
}

// cmdWriter writes to the root command's current output or error stream.
type cmdWriter struct {
	a      *App
	stderr bool
}

func (w cmdWriter) Write(p []byte) (int, error) {
	if w.stderr {
		return w.a.root.ErrOrStderr().Write(p)
	}
	return w.a.root.OutOrStdout().Write(p)
}

// RootCmd returns the command tree Execute runs, so a program can add its own commands
// (root.AddCommand) or set the arguments (SetArgs; by default the process's own).
func (a *App) RootCmd() *cobra.Command { return a.root }

// Start runs the command line (by default the process's arguments) until it finishes; for
// serve, until ctx ends and the server has shut down. An error has been written to stderr
// already; ExitCode gives the process exit code for it.
func (a *App) Start(ctx context.Context) error {
	err := a.root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(a.root.ErrOrStderr(), "Error:", err)
	}
	return err
}

// Execute is Start with a context that SIGINT and SIGTERM cancel, as the goforward binary
// runs.
func (a *App) Execute() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.Start(ctx)
}

// ExitCode is the process exit code for an error from Execute or Start: 0 for nil, 2 for an
// invalid configuration, 3 when PostgreSQL binaries are missing, 4 when the data directory
// is busy, 1 otherwise.
func ExitCode(err error) int { return cli.ExitCode(err) }
