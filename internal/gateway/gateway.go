// Package gateway is Go Forward's front door: one HTTP server on which every service mounts
// its routes, behind the middleware Supabase's Kong gateway provides (request ids, client
// IPs, access logs, panic recovery, metrics, CORS, rate limits, body limits, compression and
// the apikey check), plus /health, /ready and /metrics.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/security"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 5 * time.Minute
	DefaultWriteTimeout      = 5 * time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultMaxBodyBytes      = 10 << 20
	DefaultCORSMaxAge        = time.Hour
)

// Config configures the gateway. Zero values mean the stated defaults.
type Config struct {
	// Development allows CORS from any http(s)://localhost, 127.0.0.1 or [::1] origin (any
	// port) on top of CORS.AllowedOrigins, and adds the panic value to 500 bodies.
	Development bool

	// ReadHeaderTimeout bounds reading request headers. Default 10s; negative: no limit.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request including its body. Default 5m; negative: no
	// limit. Handlers that stream long uploads extend it with http.ResponseController.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response. Default 5m; negative: no limit. Hijacked
	// connections (WebSockets) are not affected once their handler clears the deadline.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its next request.
	// Default 2m; negative: no limit.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown in Serve. Default 10s.
	ShutdownTimeout time.Duration

	// MaxBodyBytes is the request body limit for services that do not set their own.
	// Default 10 MiB; negative: no limit.
	MaxBodyBytes int64
	// Gzip compresses responses of at least 1 KiB for clients that accept gzip.
	Gzip bool
	// TrustedProxies are the peers whose X-Forwarded-For header is believed when resolving
	// the client IP. Empty: the TCP peer is always the client.
	TrustedProxies []netip.Prefix
	// CORS says which browser origins may call the API.
	CORS CORSConfig

	// RateLimitServiceRole applies Deps.Limiter to requests made with the service-role key
	// too. Default false: they are exempt, so a server-side app calling the API with that
	// key from one address is not throttled as if it were one client (Supabase does not rate
	// limit its data APIs either).
	RateLimitServiceRole bool
	// ProtectMetrics makes /metrics answer 401 unless the request carries the service-role
	// key, in the apikey header or as a Bearer token. Default false: open, for development;
	// goforward serve sets it in every other environment.
	ProtectMetrics bool
}

// CORSConfig is the cross-origin policy.
type CORSConfig struct {
	// AllowedOrigins are exact origins ("https://app.example.com") allowed to call the API;
	// "*" allows every origin. Empty: none (besides localhost in Development).
	AllowedOrigins []string
	// AllowCredentials sends Access-Control-Allow-Credentials: true; the allowed origin is
	// then always echoed, never "*".
	AllowCredentials bool
	// MaxAge is how long browsers may cache a preflight answer. Default 1h; negative: the
	// header is left out.
	MaxAge time.Duration
}

// Service is one API mounted on the gateway.
type Service struct {
	// Name labels the service in metrics and logs ("auth", "rest", ...).
	Name string
	// Prefix is the path all of the service's routes live under ("/auth/v1").
	Prefix string
	// Mount registers the service's routes as full-path ServeMux patterns, such as
	// "POST /auth/v1/signup".
	Mount func(mux *http.ServeMux)
	// Open lists path prefixes under Prefix whose routes need no apikey ("/auth/v1/verify";
	// "/storage/v1/" opens the whole service). A route is open when its pattern's path lies
	// under one of them.
	Open []string
	// MaxBodyBytes is the service's request body limit: 0 uses Config.MaxBodyBytes, -1 means
	// the service limits bodies itself (storage uploads).
	MaxBodyBytes int64
}

// APIKeyResolver recognises Go Forward's opaque API keys (gf_pub_…, gf_sec_…); an
// *apikeys.Verifier is one. It must answer from memory: it is asked on every request that
// carries such a key.
type APIKeyResolver interface {
	// Resolve returns the principal key stands for, with its grant in Principal.Key, or an
	// error for an unknown, revoked or expired key.
	Resolve(ctx context.Context, key string) (security.Principal, error)
}

// Deps are the gateway's collaborators.
type Deps struct {
	// Keys verifies apikeys and Bearer tokens. Required.
	Keys *security.Keys
	// APIKeys resolves opaque API keys wherever a JWT key is accepted (apikey header or
	// query, Bearer token, /metrics). Nil: opaque keys are refused as invalid.
	APIKeys APIKeyResolver
	// Limiter limits requests per verified user (the sub of a valid JWT) or, for requests
	// without one, per client IP (IPv6 per /64). Nil: no rate limit.
	Limiter ratelimit.Limiter
	// Tables limits requests to /rest/v1/{table} per table (tables.go). Nil: no per-table
	// limits.
	Tables TableGuard
	// Ready reports whether the node can serve (database reachable, schema current); its
	// error text is shown by /ready, so it must not contain secrets. Nil: always ready.
	Ready func(ctx context.Context) error
	// Metrics is where the gateway registers its collectors. If it is also a
	// prometheus.Gatherer (a *prometheus.Registry is), /metrics serves everything in it.
	// Nil: a private registry.
	Metrics prometheus.Registerer
	// Logger receives access logs and errors. Nil: slog.Default().
	Logger *slog.Logger
	// Guard refuses addresses the security monitor blocked and counts 401/403 answers per
	// client (guard.go). Nil: none.
	Guard ClientGuard
}

// Gateway routes requests to the mounted services. Build it with New.
type Gateway struct {
	cfg      Config
	keys     *security.Keys
	apiKeys  APIKeyResolver
	limiter  ratelimit.Limiter
	tables   TableGuard
	ready    func(ctx context.Context) error
	logger   *slog.Logger
	mux      *http.ServeMux
	services []mountedService // longest prefix first
	// appRoutes are the patterns added with Handle: open routes owned by no service.
	appRoutes map[string]bool
	metrics   *httpMetrics
	gzip      func(http.Handler) http.HandlerFunc // nil when compression is off
	handler   http.Handler
	guard     ClientGuard // nil: none
}

type mountedService struct {
	name    string
	prefix  string
	open    []string
	maxBody int64 // <= 0: unlimited
}

// New builds a gateway serving services. Services left out are simply not routed: their
// paths answer 404 like any unknown path.
func New(cfg Config, deps Deps, services ...Service) (*Gateway, error) {
	if deps.Keys == nil {
		return nil, errors.New("gateway: Deps.Keys is required")
	}
	g := &Gateway{
		cfg:     withDefaults(cfg),
		keys:    deps.Keys,
		apiKeys: deps.APIKeys,
		limiter: deps.Limiter,
		tables:  deps.Tables,
		ready:   deps.Ready,
		logger:  deps.Logger,
		mux:     http.NewServeMux(),
		guard:   deps.Guard,
	}
	if g.logger == nil {
		g.logger = slog.Default()
	}
	var err error
	if g.metrics, err = newHTTPMetrics(deps.Metrics); err != nil {
		return nil, err
	}
	if g.cfg.Gzip {
		if g.gzip, err = gzhttp.NewWrapper(gzhttp.MinSize(gzhttp.DefaultMinSize), gzhttp.EnableZstd(false)); err != nil {
			return nil, fmt.Errorf("gateway: gzip: %w", err)
		}
	}
	g.mountOwnRoutes()
	for _, svc := range services {
		if err := g.mount(svc); err != nil {
			return nil, err
		}
	}
	g.handler = g.chain()
	return g, nil
}

// Handler returns the gateway with its whole middleware chain, for use in tests or under
// another server.
func (g *Gateway) Handler() http.Handler { return g.handler }

// chain wraps the mux in the middleware, listed here innermost first.
func (g *Gateway) chain() http.Handler {
	h := http.HandlerFunc(g.dispatch)
	wrapped := g.compress(h)
	wrapped = g.limitBody(wrapped)
	wrapped = g.limitTables(wrapped)
	// The rate limit runs after the apikey check because it counts per verified user. A
	// request refused for its key costs less than asking the limiter would.
	wrapped = g.limitRate(wrapped)
	wrapped = g.requireAPIKey(wrapped)
	wrapped = g.cors(wrapped)
	wrapped = g.measure(wrapped)
	wrapped = g.recoverPanics(wrapped)
	wrapped = g.guardClients(wrapped)
	wrapped = g.logAccess(wrapped)
	wrapped = g.resolveClientIP(wrapped)
	return g.assignRequestID(wrapped)
}

func withDefaults(cfg Config) Config {
	duration := func(d *time.Duration, def time.Duration) {
		switch {
		case *d == 0:
			*d = def
		case *d < 0:
			*d = 0 // http.Server reads zero as "no limit"
		}
	}
	duration(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	duration(&cfg.ReadTimeout, DefaultReadTimeout)
	duration(&cfg.WriteTimeout, DefaultWriteTimeout)
	duration(&cfg.IdleTimeout, DefaultIdleTimeout)
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.CORS.MaxAge == 0 {
		cfg.CORS.MaxAge = DefaultCORSMaxAge
	}
	cfg.TrustedProxies = slices.Clone(cfg.TrustedProxies)
	for i, p := range cfg.TrustedProxies {
		cfg.TrustedProxies[i] = p.Masked()
	}
	cfg.CORS.AllowedOrigins = slices.Clone(cfg.CORS.AllowedOrigins)
	return cfg
}

// mount validates svc, registers its routes and remembers its prefix, open paths and limit.
func (g *Gateway) mount(svc Service) (err error) {
	if err := g.validate(svc); err != nil {
		return fmt.Errorf("gateway: service %q: %w", svc.Name, err)
	}
	defer func() {
		// ServeMux panics on an invalid or conflicting pattern; that is a wiring error.
		if v := recover(); v != nil {
			err = fmt.Errorf("gateway: service %q: mount: %v", svc.Name, v)
		}
	}()
	svc.Mount(g.mux)

	maxBody := svc.MaxBodyBytes
	if maxBody == 0 {
		maxBody = g.cfg.MaxBodyBytes
	}
	g.services = append(g.services, mountedService{
		name:    svc.Name,
		prefix:  strings.TrimSuffix(svc.Prefix, "/"),
		open:    slices.Clone(svc.Open),
		maxBody: maxBody,
	})
	slices.SortFunc(g.services, func(a, b mountedService) int { return len(b.prefix) - len(a.prefix) })
	return nil
}

func (g *Gateway) validate(svc Service) error {
	switch {
	case svc.Name == "" || svc.Name == gatewayService:
		return fmt.Errorf("name must be set and not %q", gatewayService)
	case svc.Mount == nil:
		return errors.New("a Mount function is required")
	case !validPrefix(svc.Prefix):
		return fmt.Errorf("prefix %q must be a clean absolute path", svc.Prefix)
	case svc.MaxBodyBytes < -1:
		return fmt.Errorf("MaxBodyBytes %d must be -1, 0 or positive", svc.MaxBodyBytes)
	}
	for _, other := range g.services {
		if other.name == svc.Name || other.prefix == strings.TrimSuffix(svc.Prefix, "/") {
			return fmt.Errorf("name or prefix already used by service %q", other.name)
		}
	}
	for _, open := range svc.Open {
		if !pathUnder(open, svc.Prefix) {
			return fmt.Errorf("open path %q is not under prefix %q", open, svc.Prefix)
		}
	}
	return nil
}

// validPrefix accepts clean absolute paths, with or without a trailing slash.
func validPrefix(prefix string) bool {
	trimmed := strings.TrimSuffix(prefix, "/")
	return strings.HasPrefix(prefix, "/") && (trimmed == "" || path.Clean(trimmed) == trimmed)
}

// pathUnder reports whether p is prefix itself or lies below it, segment-wise: "/auth/v1/verify"
// is under "/auth/v1", "/auth/v1x" is not.
func pathUnder(p, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}
