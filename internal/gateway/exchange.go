package gateway

import (
	"context"
	"net/http"
	"path"
	"strings"

	"github.com/goforward/goforward/internal/httpx"
)

const (
	// gatewayService labels the gateway's own routes and paths no service owns.
	gatewayService = "gateway"
	// unmatchedRoute labels requests no pattern matched, keeping metric labels bounded.
	unmatchedRoute = "unmatched"
)

// exchange is the per-request state the middleware share. The access-log middleware creates
// it (resolving the route once, up front, with the same ServeMux that will dispatch) and
// stores it in the context; inner layers read it, and the apikey layer records the role.
type exchange struct {
	route    string // the matched ServeMux pattern, or unmatchedRoute
	service  string // owning service name, or gatewayService
	open     bool   // no apikey required
	internal bool   // /health, /ready, /metrics: never rate limited
	maxBody  int64  // <= 0: unlimited
	role     string // the principal's role, once known
	apiKeyID string // the id of the opaque API key the request came with, if any
	w        *httpx.StatusWriter
}

type exchangeKey struct{}

func withExchange(ctx context.Context, ex *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

// exchangeFrom returns the request's exchange. Every layer inside logAccess can rely on it.
func exchangeFrom(ctx context.Context) *exchange {
	return ctx.Value(exchangeKey{}).(*exchange)
}

// resolve works out which route will serve r and what rules apply to it. Openness is decided
// from the pattern the mux will actually dispatch to, not from the raw path, so encoded
// slashes or dot segments cannot make a protected route look like an open one.
func (g *Gateway) resolve(r *http.Request) *exchange {
	_, pattern := g.mux.Handler(r)
	if pattern == "" {
		ex := &exchange{route: unmatchedRoute, service: gatewayService, open: true, maxBody: g.cfg.MaxBodyBytes}
		// An unknown path under a service's prefix still needs a key, as behind Kong, where
		// the key check belongs to the service's route.
		cleaned := path.Clean("/" + r.URL.Path)
		if svc := g.owner(cleaned); svc != nil {
			ex.service, ex.open, ex.maxBody = svc.name, svc.isOpen(cleaned), svc.maxBody
		}
		return ex
	}
	p := patternPath(pattern)
	if isOwnRoute(p) {
		return &exchange{route: pattern, service: gatewayService, open: true, internal: true, maxBody: g.cfg.MaxBodyBytes}
	}
	if g.appRoutes[pattern] {
		// An application's catch-all must not answer for a service's unknown paths.
		if owner := g.prefixOwner(path.Clean("/" + r.URL.Path)); owner != nil {
			return &exchange{route: unmatchedRoute, service: owner.name, open: owner.isOpen(path.Clean("/" + r.URL.Path)), maxBody: owner.maxBody}
		}
		return &exchange{route: pattern, service: appService, open: true, maxBody: g.cfg.MaxBodyBytes}
	}
	svc := g.owner(p)
	if svc == nil {
		// A pattern outside every prefix is a wiring mistake; keep it closed.
		return &exchange{route: pattern, service: gatewayService, maxBody: g.cfg.MaxBodyBytes}
	}
	return &exchange{route: pattern, service: svc.name, open: svc.isOpen(p), maxBody: svc.maxBody}
}

// prefixOwner is owner without a service mounted at the site root (the dashboard): such a
// service claims only the patterns it registers, never a whole path space, so application
// routes may live next to it.
func (g *Gateway) prefixOwner(p string) *mountedService {
	if svc := g.owner(p); svc != nil && strings.Trim(svc.prefix, "/") != "" {
		return svc
	}
	return nil
}

// owner returns the service with the longest prefix containing p, or nil.
func (g *Gateway) owner(p string) *mountedService {
	for i := range g.services {
		if pathUnder(p, g.services[i].prefix) {
			return &g.services[i]
		}
	}
	return nil
}

func (s *mountedService) isOpen(p string) bool {
	for _, open := range s.open {
		if pathUnder(p, open) {
			return true
		}
	}
	return false
}

// patternPath strips the method and host from a ServeMux pattern: "GET host/a/{b}" → "/a/{b}".
func patternPath(pattern string) string {
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pattern = strings.TrimLeft(pattern[i:], " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}
