package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/ratelimit"
)

// GuardConfig configures the gateway's guard: the unauthorized_burst rule's threshold and
// window (Threshold 0: 401/403 answers are not counted).
type GuardConfig struct {
	Threshold int
	Window    time.Duration
}

// Guard is what the gateway asks about every request (gateway.ClientGuard): it refuses the
// addresses the monitor blocked, and counts 401/403 answers per client address in a token
// bucket of the rate-limit store (shared through Redis when configured). A client that
// reaches Threshold within Window is written to the audit log once per Window
// (gateway.unauthorized_burst), which the unauthorized_burst rule turns into an alert.
type Guard struct {
	cfg    GuardConfig
	blocks *ratelimit.Blocklist
	burst  ratelimit.Limiter // nil: not counted
	pool   *pgxpool.Pool
	logger *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	reported map[string]time.Time // per address key: until when a burst is not reported again
}

// NewGuard builds the guard over the store's block list and limiters.
func NewGuard(cfg GuardConfig, store *ratelimit.Store, pool *pgxpool.Pool, logger *slog.Logger) *Guard {
	g := &Guard{cfg: cfg, blocks: store.Blocklist("alerts_blocked_ip"), pool: pool, logger: logger, now: time.Now,
		reported: map[string]time.Time{}}
	if g.logger == nil {
		g.logger = slog.Default()
	}
	if cfg.Threshold > 1 && cfg.Window > 0 {
		// A bucket of Threshold-1 tokens refilled over the window refuses the Threshold-th
		// answer within it.
		g.burst = store.Limiter("alerts_unauthorized", float64(cfg.Threshold-1)/cfg.Window.Seconds(), cfg.Threshold-1)
	}
	return g
}

// Blocked reports whether ip is blocked (its IPv6 /64 for an IPv6 address).
func (g *Guard) Blocked(ctx context.Context, ip netip.Addr) (time.Duration, bool) {
	return g.blocks.Blocked(ctx, ratelimit.IPKey(ip))
}

// Block blocks the address ip (as the audit log prints it) for d: the block_ip action.
func (g *Guard) Block(ctx context.Context, ip string, d time.Duration) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("alerts: block %q: %w", ip, err)
	}
	return g.blocks.Block(ctx, ratelimit.IPKey(addr), d)
}

// Unblock lifts the block of the address ip.
func (g *Guard) Unblock(ctx context.Context, ip string) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("alerts: unblock %q: %w", ip, err)
	}
	return g.blocks.Unblock(ctx, ratelimit.IPKey(addr))
}

// Unblocker lifts a block_ip action; *Guard is one.
type Unblocker interface {
	Unblock(ctx context.Context, ip string) error
}

// LiftBlock lifts the block a resolved alert still holds: an address blocked by mistake (or
// no longer a threat) is let in again as soon as someone resolves its alert. It does nothing
// for other alerts.
func LiftBlock(ctx context.Context, u Unblocker, a Alert) error {
	if a.Action != ActionBlockIP || a.ActionUntil == nil || !time.Now().Before(*a.ActionUntil) {
		return nil
	}
	var d struct {
		IP string `json:"ip"`
	}
	if err := json.Unmarshal(a.Details, &d); err != nil || d.IP == "" {
		return fmt.Errorf("alerts: alert %d names no address to unblock", a.ID)
	}
	return u.Unblock(ctx, d.IP)
}

// Observe counts a 401 or 403 answer to the request's client.
func (g *Guard) Observe(r *http.Request, status int) {
	if g.cfg.Threshold < 1 {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	c := audit.ClientOf(r)
	key := ratelimit.IPKey(c.IP)
	if g.burst != nil {
		d, err := g.burst.Allow(ctx, key)
		if err != nil || d.Allowed {
			return
		}
	}
	now := g.now()
	g.mu.Lock()
	if until, ok := g.reported[key]; ok && now.Before(until) {
		g.mu.Unlock()
		return
	}
	g.reported[key] = now.Add(g.cfg.Window)
	if len(g.reported) > 10000 {
		for k, until := range g.reported {
			if !now.Before(until) {
				delete(g.reported, k)
			}
		}
	}
	g.mu.Unlock()
	e := audit.Entry{Actor: audit.Actor{Type: audit.ActorAnon}, Action: ActionUnauthorizedBurst, Outcome: audit.Denied,
		Severity: audit.Warning, ResourceType: "ip", ResourceID: key, Client: c,
		Details: map[string]any{"status": status, "method": r.Method, "path": r.URL.Path, "threshold": g.cfg.Threshold, "window": g.cfg.Window.String()}}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := audit.Record(ctx, g.pool, e); err != nil {
		g.logger.Error("security guard: audit a burst of 401/403", "error", err)
	}
}
