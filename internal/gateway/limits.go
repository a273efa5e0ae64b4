package gateway

import (
	"net/http"
	"strconv"

	"github.com/goforward/goforward/internal/httpx"
)

// limitRate applies the per-client-IP limit. Health, readiness and metrics probes are never
// limited. A limiter that cannot decide (its store is down) lets the request through: an
// outage of the limiter must not become an outage of the API.
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
		key := clientIPText(ctx)
		if key == "" {
			key = "unknown"
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
