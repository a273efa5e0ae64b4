package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/security"
)

// limitRate applies Deps.Limiter per verified user, or per client network for requests
// without a user (see rateKey). Health, readiness and metrics probes are never limited. A
// limiter that cannot decide lets the request through: an outage of the limiter must not
// become an outage of the API (ratelimit.Store never gets here: it decides locally instead).
func (g *Gateway) limitRate(next http.Handler) http.Handler {
	if g.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if exchangeFrom(ctx).internal {
			next.ServeHTTP(w, r)
			return
		}
		key, limited := g.rateKey(ctx)
		if !limited {
			next.ServeHTTP(w, r)
			return
		}
		decision, err := g.limiter.Allow(ctx, key)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return // the client is gone; nothing to answer
			}
			g.logger.ErrorContext(ctx, "rate limiter failed, allowing request", "request_id", httpx.RequestID(ctx), "error", err)
		case !decision.Allowed:
			w.Header().Set("Retry-After", strconv.Itoa(decision.RetryAfterSeconds()))
			g.writeMessage(w, r, http.StatusTooManyRequests, msgRateLimited)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateKey is whom a request counts against: the user, when the apikey layer verified a token
// with a subject, so that an app server relaying many users' requests from one address is
// not throttled as one client; otherwise the client's address, IPv6 by /64. limited is false
// for the service role unless Config.RateLimitServiceRole is set.
func (g *Gateway) rateKey(ctx context.Context) (key string, limited bool) {
	if p, ok := security.PrincipalFrom(ctx); ok {
		if p.Role == security.RoleServiceRole && !g.cfg.RateLimitServiceRole {
			return "", false
		}
		if p.Subject != "" {
			return "user:" + p.Subject, true
		}
	}
	return "ip:" + ratelimit.IPKey(httpx.ClientIP(ctx)), true
}

// limitBody enforces the owning service's body limit: a declared length over it is refused
// before anything is read; otherwise the body is wrapped so reading past the limit fails with
// *http.MaxBytesError (which httpx.AsAppError renders as 413).
func (g *Gateway) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := exchangeFrom(r.Context()).maxBody
		if limit > 0 {
			if r.ContentLength > limit {
				g.writeMessage(w, r, http.StatusRequestEntityTooLarge, msgBodyTooLarge)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}
