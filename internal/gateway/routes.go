package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// Kong's wording, which clients and people already know.
const (
	msgNoRoute       = "no Route matched with those values"
	msgNoAPIKey      = "No API key found in request"
	msgInvalidAPIKey = "Invalid authentication credentials"
	msgRateLimited   = "API rate limit exceeded"
	// Kong's ACL plugin's words, for an opaque key used outside its scope.
	msgServiceNotAllowed  = "You cannot consume this service"
	msgSecretKeyInBrowser = "Secret API keys cannot be used from a browser; use a publishable key"
	msgBodyTooLarge       = "Request body is too large"
	msgInternalError      = "Internal server error"
)

// The gateway's own routes, which need no apikey and are never rate limited.
const (
	// metricsScope is the service name a scoped secret key needs to read /metrics.
	metricsScope = "metrics"
	healthPath   = "/health"
	readyPath    = "/ready"
	metricsPath  = "/metrics"
)

// readyCheckTimeout bounds Deps.Ready so a hung dependency cannot hang the probe.
const readyCheckTimeout = 5 * time.Second

// message is the gateway's own error body: {"message": "..."}.
type message struct {
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func (g *Gateway) writeMessage(w http.ResponseWriter, r *http.Request, status int, text string) {
	if err := httpx.WriteJSON(w, status, message{Message: text}); err != nil {
		g.logger.DebugContext(r.Context(), "writing gateway response failed", "request_id", httpx.RequestID(r.Context()), "error", err)
	}
}

func isOwnRoute(p string) bool {
	return p == healthPath || p == readyPath || p == metricsPath
}

func (g *Gateway) mountOwnRoutes() {
	g.mux.HandleFunc("GET "+healthPath, g.health)
	g.mux.HandleFunc("GET "+readyPath, g.readiness)
	g.mux.Handle("GET "+metricsPath, g.protectMetrics(promhttp.HandlerFor(g.metrics.gatherer, promhttp.HandlerOpts{
		// The gateway's own gzip layer compresses, so there is one place that decides.
		DisableCompression: true,
	})))
}

// protectMetrics answers 401 unless the request carries the service-role key, or a secret API
// key whose scope names "metrics" (or no service at all), when Config.ProtectMetrics is set:
// metrics name routes, tables and pool sizes, and show traffic. Only the apikey header and
// the Bearer token count, never ?apikey=, which would put the key in proxies' logs and scrape
// configurations' URLs.
func (g *Gateway) protectMetrics(next http.Handler) http.Handler {
	if !g.cfg.ProtectMetrics {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		presented := false
		for _, key := range []string{r.Header.Get("apikey"), bearerToken(r)} {
			if key == "" {
				continue
			}
			presented = true
			p, err := g.verify(r.Context(), key)
			if err == nil && p.Role == security.RoleServiceRole && (p.Key == nil || p.Key.Scope.AllowsService(metricsScope)) {
				next.ServeHTTP(w, r)
				return
			}
		}
		if !presented {
			g.writeMessage(w, r, http.StatusUnauthorized, msgNoAPIKey)
			return
		}
		g.writeMessage(w, r, http.StatusUnauthorized, msgInvalidAPIKey)
	})
}

// dispatch hands the request to the mux, or answers 404 when no pattern matched (which is
// also what Kong says when a route exists for other methods only).
func (g *Gateway) dispatch(w http.ResponseWriter, r *http.Request) {
	if exchangeFrom(r.Context()).route == unmatchedRoute {
		g.writeMessage(w, r, http.StatusNotFound, msgNoRoute)
		return
	}
	g.mux.ServeHTTP(w, r)
}

func (g *Gateway) health(w http.ResponseWriter, r *http.Request) {
	g.writeStatus(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

func (g *Gateway) readiness(w http.ResponseWriter, r *http.Request) {
	if g.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyCheckTimeout)
		defer cancel()
		if err := g.ready(ctx); err != nil {
			g.logger.WarnContext(ctx, "not ready", "request_id", httpx.RequestID(ctx), "error", err)
			g.writeStatus(w, r, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	g.writeStatus(w, r, http.StatusOK, map[string]string{"status": "ready"})
}

func (g *Gateway) writeStatus(w http.ResponseWriter, r *http.Request, status int, body map[string]string) {
	w.Header().Set("Cache-Control", "no-store")
	if err := httpx.WriteJSON(w, status, body); err != nil {
		g.logger.DebugContext(r.Context(), "writing gateway response failed", "request_id", httpx.RequestID(r.Context()), "error", err)
	}
}
