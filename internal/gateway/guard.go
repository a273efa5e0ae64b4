package gateway

import (
	"context"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/goforward/goforward/internal/httpx"
)

// msgBlocked answers a client address the security monitor blocked (the block_ip action).
const msgBlocked = "Access from this address is temporarily blocked"

// ClientGuard is the security monitor's hold on the front door (internal/alerts.Guard):
// addresses it blocked, and the 401/403 answers it counts per client.
type ClientGuard interface {
	// Blocked reports whether ip is blocked and for how much longer.
	Blocked(ctx context.Context, ip netip.Addr) (time.Duration, bool)
	// Observe is told of every 401 and 403 answer, after it was sent.
	Observe(r *http.Request, status int)
}

// guardClients refuses blocked addresses with 403 before any other work (the apikey check,
// the rate limit), and reports 401/403 answers to the guard. Health, readiness and metrics
// probes are neither refused nor counted.
func (g *Gateway) guardClients(next http.Handler) http.Handler {
	if g.guard == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeFrom(r.Context())
		if ex.internal {
			next.ServeHTTP(w, r)
			return
		}
		if left, blocked := g.guard.Blocked(r.Context(), httpx.ClientIP(r.Context())); blocked {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(left.Seconds())))))
			g.writeMessage(w, r, http.StatusForbidden, msgBlocked)
			return
		}
		next.ServeHTTP(w, r)
		if s := ex.w.Status(); s == http.StatusUnauthorized || s == http.StatusForbidden {
			g.guard.Observe(r, s)
		}
	})
}
