package tablesecurity

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/ratelimit"
)

// Registry is one node's view of every table's config, for what PostgreSQL cannot enforce
// alone: the per-table rate limits (in the gateway), the IP allow-lists outside a request
// transaction (realtime joins) and the views REST reads restricted roles through. It loads
// at Run's start and again on every NotifyChannel notification, which a committed change
// sends.
type Registry struct {
	// DefaultSchema is the schema of a REST request that names none. Default public.
	DefaultSchema string
	// Limits makes the per-table rate limiters. With Redis (redis.url) a table's limit holds
	// across every node sharing it; nil: each node counts alone. Set before the first request.
	Limits *ratelimit.Store

	pool   *pgxpool.Pool
	logger *slog.Logger
	state  atomic.Pointer[registryState]

	mu       sync.Mutex
	limiters map[string]*tableLimiter // by schema.table
}

type registryState struct {
	rules map[string]*Rule // by schema.table
}

// Rule is what the registry knows about one table.
type Rule struct {
	Schema, Table string
	// Allowed is the IP allow-list; empty: every address.
	Allowed []netip.Prefix
	// RateLimit is the per-table limit; nil: none.
	RateLimit *RateLimitConfig
	// AuditSelect writes REST reads of the table to the audit log (TableRead).
	AuditSelect bool
	// Overlays are the roles that read the table through a view, and the view's schema.
	Overlays map[string]string
	// Masked are the columns each role reads masked (from its view's comment), in column order.
	Masked map[string][]string
}

// AllowsIP reports whether addr may reach the table. An invalid address (none known) is
// refused when there is an allow-list.
func (r *Rule) AllowsIP(addr netip.Addr) bool {
	if r == nil || len(r.Allowed) == 0 {
		return true
	}
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range r.Allowed {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

type tableLimiter struct {
	cfg     RateLimitConfig
	limiter ratelimit.Limiter
}

// NewRegistry returns an empty registry over pool (the owner's connection).
func NewRegistry(pool *pgxpool.Pool, logger *slog.Logger) *Registry {
	if logger == nil {
		logger = slog.Default()
	}
	r := &Registry{DefaultSchema: "public", pool: pool, logger: logger, limiters: map[string]*tableLimiter{}}
	r.state.Store(&registryState{rules: map[string]*Rule{}})
	return r
}

// Rule returns the table's rule; nil when it has no config.
func (r *Registry) Rule(schema, table string) *Rule {
	if r == nil {
		return nil
	}
	return r.state.Load().rules[schema+"."+table]
}

// OverlaySchema is the schema of the view role reads schema.table through, when the config
// restricts some column for it.
func (r *Registry) OverlaySchema(role, schema, table string) (string, bool) {
	rule := r.Rule(schema, table)
	if rule == nil {
		return "", false
	}
	s, ok := rule.Overlays[role]
	return s, ok
}

// MaskedColumns are the columns of schema.table role reads masked; none without a config.
func (r *Registry) MaskedColumns(role, schema, table string) []string {
	rule := r.Rule(schema, table)
	if rule == nil {
		return nil
	}
	return rule.Masked[role]
}

// AllowTable is Allow for the gateway: profile "" is the first schema REST exposes
// (DefaultSchema, public unless set).
func (r *Registry) AllowTable(ctx context.Context, profile, table, key string) (ratelimit.Decision, error) {
	if profile == "" {
		profile = r.DefaultSchema
	}
	return r.Allow(ctx, profile, table, key)
}

// TableAllowsIP is Rule.AllowsIP for the gateway (profile as in AllowTable).
func (r *Registry) TableAllowsIP(profile, table string, addr netip.Addr) bool {
	if profile == "" {
		profile = r.DefaultSchema
	}
	return r.Rule(profile, table).AllowsIP(addr)
}

// Allow counts one request to schema.table against its rate limit, for key (a user or a
// client network). Tables without a limit always allow.
func (r *Registry) Allow(ctx context.Context, schema, table, key string) (ratelimit.Decision, error) {
	rule := r.Rule(schema, table)
	if rule == nil || rule.RateLimit == nil {
		return ratelimit.Decision{Allowed: true}, nil
	}
	name := schema + "." + table
	r.mu.Lock()
	l := r.limiters[name]
	if l == nil || l.cfg != *rule.RateLimit {
		burst := rule.RateLimit.Burst
		if burst == 0 {
			burst = rule.RateLimit.RequestsPerMinute
		}
		l = &tableLimiter{cfg: *rule.RateLimit, limiter: r.newLimiter(name, *rule.RateLimit, burst)}
		r.limiters[name] = l
	}
	r.mu.Unlock()
	return l.limiter.Allow(ctx, name+"|"+key)
}

// newLimiter is the bucket set of one table's limit. In a Store, the name carries the rate and
// burst: a changed limit starts fresh shared buckets, as it does locally, rather than
// inherit counts kept under other terms.
func (r *Registry) newLimiter(table string, cfg RateLimitConfig, burst int) ratelimit.Limiter {
	rate := float64(cfg.RequestsPerMinute) / 60
	if r.Limits == nil {
		return ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: rate, Burst: burst, MaxKeys: 10_000})
	}
	return r.Limits.Limiter(fmt.Sprintf("table:%s:%d:%d", table, cfg.RequestsPerMinute, burst), rate, burst)
}

const registrySQL = `SELECT schema_name, table_name, config, compiled -> 'overlays' FROM goforward.table_security`

// overlayCommentsSQL reads the comments of the views in overlay schemas: they say which
// columns of which table each role reads masked.
const overlayCommentsSQL = `SELECT obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = ANY ($1::text[]) AND c.relkind = 'v'`

// Load reads every config now.
func (r *Registry) Load(ctx context.Context) error {
	rows, err := r.pool.Query(ctx, registrySQL)
	if err != nil {
		return fmt.Errorf("tablesecurity: load registry: %w", err)
	}
	state := &registryState{rules: map[string]*Rule{}}
	var (
		schema, table    string
		config, overlays []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&schema, &table, &config, &overlays}, func() error {
		var cfg Config
		if err := json.Unmarshal(config, &cfg); err != nil {
			return fmt.Errorf("config of %s.%s: %w", schema, table, err)
		}
		var schemas []string
		_ = json.Unmarshal(overlays, &schemas)
		rule := &Rule{Schema: schema, Table: table, RateLimit: cfg.APIConfig.RateLimit, Overlays: map[string]string{},
			AuditSelect: cfg.Audits(ActionSelect)}
		for _, entry := range cfg.APIConfig.IPWhitelist {
			if p, err := parsePrefix(entry); err == nil {
				rule.Allowed = append(rule.Allowed, p)
			}
		}
		for _, s := range schemas {
			if role, _, ok := ParseOverlaySchema(s); ok {
				rule.Overlays[role] = s
			}
		}
		state.rules[schema+"."+table] = rule
		return nil
	})
	if err != nil {
		return fmt.Errorf("tablesecurity: load registry: %w", err)
	}
	if err := r.loadMasked(ctx, state); err != nil {
		return err
	}
	r.state.Store(state)
	r.mu.Lock()
	for name := range r.limiters {
		if rule := state.rules[name]; rule == nil || rule.RateLimit == nil {
			delete(r.limiters, name)
		}
	}
	r.mu.Unlock()
	return nil
}

// loadMasked fills each rule's Masked from its overlay views' comments.
func (r *Registry) loadMasked(ctx context.Context, state *registryState) error {
	var schemas []string
	for _, rule := range state.rules {
		rule.Masked = map[string][]string{}
		for _, s := range rule.Overlays {
			schemas = append(schemas, s)
		}
	}
	if len(schemas) == 0 {
		return nil
	}
	rows, err := r.pool.Query(ctx, overlayCommentsSQL, schemas)
	if err != nil {
		return fmt.Errorf("tablesecurity: load overlay views: %w", err)
	}
	comments, err := pgx.CollectRows(rows, pgx.RowTo[*string])
	if err != nil {
		return fmt.Errorf("tablesecurity: load overlay views: %w", err)
	}
	for _, comment := range comments {
		if comment == nil {
			continue
		}
		o, ok := ParseOverlayComment(*comment)
		rule := state.rules[o.Schema+"."+o.Table]
		if !ok || rule == nil {
			continue
		}
		for _, c := range o.Columns {
			if c.Masked {
				rule.Masked[o.Role] = append(rule.Masked[o.Role], c.Name)
			}
		}
	}
	return nil
}

// Run loads the registry and reloads it on every change until ctx ends; it then returns nil.
// Connection failures are logged and retried (the last loaded state keeps serving).
func (r *Registry) Run(ctx context.Context) error {
	for {
		err := r.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		r.logger.WarnContext(ctx, "table security registry listener failed; retrying", "error", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

func (r *Registry) listen(ctx context.Context) error {
	pooled, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection carries a LISTEN: it must not go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{NotifyChannel}.Sanitize()); err != nil {
		return err
	}
	if err := r.Load(ctx); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		if err := r.Load(ctx); err != nil {
			return err
		}
	}
}

// Tables lists the tables with a rule, for tests and diagnostics.
func (r *Registry) Tables() []string {
	var out []string
	for name := range r.state.Load().rules {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
