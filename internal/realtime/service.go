// Package realtime is Go Forward's /realtime/v1, wire-compatible with Supabase Realtime: a
// WebSocket speaking the Phoenix channel protocol (serializers 1.0.0 and 2.0.0) with
// broadcast, presence and postgres_changes, and a REST endpoint for server-side broadcasts.
//
// One node works alone with an in-process bus. With Redis, every node publishes and receives
// broadcasts, presence diffs and database changes through Redis pub/sub, keeps presence in
// Redis so every node shows the same state, and exactly one node (holding a PostgreSQL
// advisory lock) reads the logical replication stream for all of them. Each node decides
// which of its own subscribers may see a change, asking PostgreSQL as the subscriber's role
// and claims, so row-level security guards realtime as it guards REST.
package realtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/realtime/replication"
	"github.com/goforward/goforward/internal/security"
)

// Prefix is where the service's routes live.
const Prefix = "/realtime/v1"

// Bus channels: one per topic for broadcasts and presence diffs, one for database changes.
const (
	topicChannelPrefix = "topic:"
	changesChannel     = "changes"
)

// ChangeSource produces the database's row changes in commit order. Run hands each change to
// emit and returns when ctx ends; a change whose emit failed is produced again later.
type ChangeSource interface {
	Run(ctx context.Context, emit replication.EmitFunc) error
}

// Deps are the service's collaborators.
type Deps struct {
	// Keys verifies the access tokens channels join with. Required.
	Keys *security.Keys
	// Runner runs authorization checks as a subscriber's role and claims: row checks of
	// changes, the catalog checks of postgres_changes bindings and private channels'
	// policies, all on the authenticator's connections. Required.
	Runner *db.RoleRunner
	// Owner connects as the database owner (a superuser or a role with REPLICATION): it reads
	// the replication stream and nothing else. Required unless postgres_changes are
	// disabled.
	Owner *pgxpool.Pool
	// Redis, when set, connects the nodes of a cluster. Nil: this node works alone.
	Redis redis.UniversalClient
	// Metrics is where the service registers its collectors. Nil: none.
	Metrics prometheus.Registerer
	// Logger receives the service's logs. Nil: slog.Default().
	Logger *slog.Logger
	// TableIPs refuses postgres_changes bindings to tables whose IP allow-list does not admit
	// the client (tableips.go). Nil: no allow-lists.
	TableIPs TableIPs
	// APIKeys tells which opaque API keys are still live; sockets opened with a key that is
	// revoked are closed. Nil: none are watched.
	APIKeys KeyWatcher
	// SigningKeys tells when the JWT signing-key ring changed: channels whose token was
	// signed by a key no longer in it are closed. Nil: not watched.
	SigningKeys RingWatcher
}

// KeyWatcher is what realtime needs of the gateway's API key verifier (*apikeys.Verifier).
type KeyWatcher interface {
	// Live reports whether the key with id is still live.
	Live(id string) bool
	// OnReload runs fn after every change to the keys.
	OnReload(fn func())
}

// Service is the realtime service. Build it with New, mount its routes with Mount and keep
// Run running: it carries messages between connections and reads database changes.
type Service struct {
	cfg      Config
	keys     *security.Keys
	runner   *db.RoleRunner
	owner    *pgxpool.Pool
	logger   *slog.Logger
	metrics  *metrics
	hub      *hub
	bus      Bus
	busDown  atomic.Bool // the cluster bus failed its last publish (fanout.go)
	presence PresenceStore
	source   ChangeSource
	changes  *changeDispatcher
	upgrader websocket.Upgrader
	// keyLimits and ipLimits count the WebSockets per apikey and per client address.
	keyLimits *connLimits
	ipLimits  *connLimits
	tableIPs  TableIPs

	nextConnID atomic.Uint64
	nextRef    atomic.Uint64
	slotReady  atomic.Bool
	stopped    atomic.Bool
	connsMu    sync.Mutex
	conns      map[*conn]struct{}
}

// New builds the service. It connects to nothing yet: Run does.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Keys == nil || deps.Runner == nil {
		return nil, errors.New("realtime: Deps.Keys and Deps.Runner are required")
	}
	cfg = cfg.withDefaults()
	s := &Service{
		cfg:    cfg,
		keys:   deps.Keys,
		runner: deps.Runner,
		owner:  deps.Owner,
		logger: deps.Logger,
		hub:    newHub(),
		conns:  map[*conn]struct{}{},

		keyLimits: newConnLimits(cfg.MaxConnectionsPerKey),
		ipLimits:  newConnLimits(cfg.MaxConnectionsPerIP),
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	var err error
	s.tableIPs = deps.TableIPs
	if s.metrics, err = newMetrics(deps.Metrics); err != nil {
		return nil, err
	}
	s.upgrader = websocket.Upgrader{
		// The read buffer stays with the connection while it idles. Phoenix messages are
		// mostly a few hundred bytes (a heartbeat is under 100); a longer one only takes
		// more reads.
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		// Idle connections give their write buffer back; with thousands of sockets that is
		// most of the memory a connection would otherwise hold.
		WriteBufferPool: &sync.Pool{},
		// Browsers connect from any origin; the apikey, not the origin, authenticates.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	if deps.Redis != nil {
		s.bus = newRedisBus(deps.Redis, cfg.RedisPrefix, cfg.NodeID, s.deliver, s.logger)
		s.presence = newRedisPresence(deps.Redis, cfg.RedisPrefix, cfg.NodeID, cfg.PresenceTTL, s.logger)
	} else {
		s.bus = newMemoryBus(s.deliver)
		s.presence = newMemoryPresence()
	}
	s.changes = newChangeDispatcher(s)
	if !cfg.PostgresChanges.Disabled {
		if deps.Owner == nil {
			return nil, errors.New("realtime: Deps.Owner is required for postgres_changes")
		}
		repl := cfg.PostgresChanges.Replication
		if repl.Slot == "" {
			repl.Slot = DefaultSlotName(deps.Owner.Config().ConnConfig.Database)
		}
		s.cfg.PostgresChanges.Replication = repl
		src, err := replication.New(repl, deps.Owner, s.logger)
		if err != nil {
			return nil, fmt.Errorf("realtime: %w", err)
		}
		s.source = src
		s.watchStream()
		if err := s.metrics.watchSource(src); err != nil {
			return nil, err
		}
	}
	if keys := deps.APIKeys; keys != nil {
		keys.OnReload(func() { s.closeRevoked(keys) })
	}
	if ring := deps.SigningKeys; ring != nil {
		ring.OnReload(func() { go s.closeRevokedSigningKeys() })
	}
	return s, nil
}

// DefaultSlotName is the replication slot used for database: goforward_realtime_<name>,
// lower-cased, with other characters than letters and digits turned into underscores (and a
// hash when that would be too long), since slots are shared by every database of a server.
func DefaultSlotName(database string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(database) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	name := "goforward_realtime_" + b.String()
	if len(name) > 63 {
		sum := sha256.Sum256([]byte(database))
		name = name[:50] + "_" + hex.EncodeToString(sum[:6])
	}
	return name
}

// Mount registers the service's routes.
func (s *Service) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/websocket", s.serveWebSocket)
	mux.Handle("POST "+Prefix+"/api/broadcast", httpx.Handle(renderError, s.handleBroadcastBatch))
	mux.Handle("POST "+Prefix+"/api/broadcast/{topic}/events/{event}", httpx.Handle(renderError, s.handleBroadcastOne))
}

// Run carries messages between this node's connections and the other nodes, delivers
// database changes and, when this node holds the reader lock, reads them. It returns when ctx
// ends, after closing every connection.
func (s *Service) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.bus.Run(gctx) })
	g.Go(func() error { return s.changes.run(gctx) })
	if s.source != nil {
		g.Go(func() error {
			// The subscription needs the bus running (Redis confirms it through Run).
			if err := s.subscribeChanges(gctx); err != nil {
				return err
			}
			return s.source.Run(gctx, s.emitChange)
		})
	}
	if reaper, ok := s.presence.(presenceReaper); ok {
		g.Go(func() error { return reaper.Run(gctx, s.announceGone) })
	}
	g.Go(func() error {
		<-gctx.Done()
		s.stopped.Store(true)
		s.closeAll()
		return nil
	})
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// subscribeChanges subscribes this node to database changes, retrying while the bus is not
// reachable yet.
func (s *Service) subscribeChanges(ctx context.Context) error {
	for {
		err := s.bus.Subscribe(ctx, changesChannel)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		s.logger.WarnContext(ctx, "realtime: subscribing to database changes failed; retrying", "error", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (s *Service) register(c *conn) bool {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if s.stopped.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	s.metrics.connections.Inc()
	return true
}

func (s *Service) unregister(c *conn) {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.metrics.connections.Dec()
	}
}

// closeRevoked ends the sockets opened with an API key (or with a user's token under one)
// that is no longer live: a revocation must not leave a stream open.
func (s *Service) closeRevoked(keys KeyWatcher) {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	for c := range s.conns {
		if k := c.principal.Key; k != nil && !keys.Live(k.ID) {
			c.close(websocket.ClosePolicyViolation, "API key revoked")
		}
	}
}

func (s *Service) closeAll() {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	for c := range s.conns {
		c.close(websocket.CloseGoingAway, "server shutting down")
	}
}
