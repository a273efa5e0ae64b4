package cli

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/alerts"
	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/signingkeys"
	"github.com/goforward/goforward/internal/tablesecurity"
)

// serviceDeps is what every feature service may be built from.
type serviceDeps struct {
	cfg    config.Config
	dir    string // the data directory's absolute path
	keys   *security.Keys
	admin  *pgxpool.Pool  // owner connection
	runner *db.RoleRunner // the RLS bridge
	logger *slog.Logger
	limits *ratelimit.Store // rate limiters, shared through Redis when configured; serve runs it
	// tables is the node's table security registry (rate limits, allow-lists, REST's views
	// for restricted roles); serve runs it. Nil in tests that build services alone.
	tables *tablesecurity.Registry
	// apiKeys is the node's API key verifier (the gateway's); realtime closes the sockets of
	// revoked keys through it. Nil: none (control commands, tests).
	apiKeys *apikeys.Verifier
	// signingKeys keeps the JWT signing-key ring current; realtime closes the channels of
	// tokens whose key was revoked. Nil when embedded without serve's start.
	signingKeys *signingkeys.Watcher
	emb         *Embedding // what an embedding program adds; nil for the plain binary
	// replicas are database.read_replicas, for REST's reads; nil: none.
	replicas *db.Replicas
	// sharedAuth builds the auth service once for every service that needs it (auth, and
	// admin's sign-in); nil builds a new one per call (serviceDeps.authService).
	sharedAuth func() (*auth.Service, error)
	// guard is the security monitor's client guard, whose blocks the admin service lifts when
	// their alert is resolved; nil without the monitor.
	guard *alerts.Guard
	// clock tells the time to the services that take a clock (auth, admin); nil is time.Now.
	// Only tests set it.
	clock func() time.Time
}

// builtService is a service ready to mount, with its background loop if it has one.
type builtService struct {
	gateway.Service
	run func(ctx context.Context) error // nil: no background work; runs until ctx ends
}

// serviceBuilder builds one feature service for the gateway.
type serviceBuilder struct {
	name  string
	build func(serviceDeps) (builtService, error)
}

// serviceBuilders lists every feature service this binary can run, in mount order. Each
// builder lives in service_<name>.go.
func serviceBuilders() []serviceBuilder {
	return []serviceBuilder{
		authService(),
		restService(),
		storageService(),
		realtimeService(),
		adminService(),
		metaService(),
		functionsService(),
		dashboardService(),
	}
}

// buildServices builds the services enabled by --services / services; the others are not
// mounted, so their routes answer 404.
func buildServices(deps serviceDeps) ([]builtService, error) {
	if deps.sharedAuth == nil {
		deps.sharedAuth = sync.OnceValues(func() (*auth.Service, error) { return newAuthService(deps) })
	}
	var out []builtService
	for _, b := range serviceBuilders() {
		if !deps.cfg.ServiceEnabled(b.name) {
			continue
		}
		svc, err := b.build(deps)
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}
