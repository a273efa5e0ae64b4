package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/security"
)

// msgTableIPDenied answers a client outside a table's IP allow-list.
const msgTableIPDenied = "Your IP address is not allowed to access this table"

// restPrefix is where the tables a TableGuard limits are served.
const restPrefix = "/rest/v1/"

// TableGuard limits requests per table (a table's security config, internal/tablesecurity's
// Registry). profile is the schema the client asked for (Accept-Profile for reads,
// Content-Profile for writes; "" for the default one).
type TableGuard interface {
	AllowTable(ctx context.Context, profile, table, key string) (ratelimit.Decision, error)
	// TableRead is told of every GET and HEAD of /rest/v1/{table} once it was answered, for
	// the tables whose reads are audited.
	TableRead(ctx context.Context, profile, table string, r *http.Request, status int)
	// TableAllowsIP reports whether a client at addr may reach the table (its IP allow-list).
	TableAllowsIP(profile, table string, addr netip.Addr) bool
}

// limitTables applies Deps.Tables to /rest/v1/{table}: the IP allow-list first (403; the
// table's policies refuse such a client too, this makes the refusal plain), then the rate
// limit, counted per user or client network like the global limit (rateKey). The service
// role is exempt from both, as it is from the table's policies. Like limitRate, a guard that
// cannot decide lets the request through.
func (g *Gateway) limitTables(next http.Handler) http.Handler {
	if g.tables == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		table, ok := restTable(r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		profile := r.Header.Get("Accept-Profile")
		if !read {
			profile = r.Header.Get("Content-Profile")
		}
		if read {
			defer func() { g.tables.TableRead(ctx, profile, table, r, exchangeFrom(ctx).w.Status()) }()
		}
		if p, ok := security.PrincipalFrom(ctx); ok && p.Role == security.RoleServiceRole {
			next.ServeHTTP(w, r)
			return
		}
		if !g.tables.TableAllowsIP(profile, table, httpx.ClientIP(ctx)) {
			g.writeMessage(w, r, http.StatusForbidden, msgTableIPDenied)
			return
		}
		key, _ := g.rateKey(ctx)
		decision, err := g.tables.AllowTable(ctx, profile, table, key)
		switch {
		case err != nil:
			g.logger.ErrorContext(ctx, "table rate limit failed, allowing request", "request_id", httpx.RequestID(ctx), "error", err)
		case !decision.Allowed:
			w.Header().Set("Retry-After", strconv.Itoa(decision.RetryAfterSeconds()))
			g.writeMessage(w, r, http.StatusTooManyRequests, msgRateLimited)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// restTable is the table of a /rest/v1/{table} path; false for the root and /rpc/.
func restTable(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, restPrefix)
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}
