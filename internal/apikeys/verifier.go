package apikeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/goforward/goforward/internal/security"
)

// Channel is the PostgreSQL notification channel a change to goforward.api_keys rings
// (migrations/0013_api_keys.sql).
const Channel = "goforward_api_keys"

// Defaults of VerifierConfig.
const (
	DefaultRetryInterval    = time.Second
	DefaultResyncInterval   = time.Minute
	DefaultLastUsedInterval = time.Minute
	DefaultIssuer           = "goforward"
)

// keptAfterExpiry is how long an expired key stays in memory, so that it is refused as
// expired (which the log says) rather than as unknown.
const keptAfterExpiry = 30 * 24 * time.Hour

// staticLifetime is the exp of the claims of a key that never expires, like the legacy keys'.
const staticLifetime = 10

// Errors of Resolve. Both also match security.ErrTokenInvalid.
var (
	ErrUnknownKey = fmt.Errorf("%w: unknown or revoked api key", security.ErrTokenInvalid)
	ErrKeyExpired = fmt.Errorf("%w: api key has expired", security.ErrTokenInvalid)
)

// VerifierConfig tunes a Verifier. Zero values mean the defaults.
type VerifierConfig struct {
	// RetryInterval is how long to wait before listening again after the notification
	// connection failed. Each retry also reloads the keys, so that a revocation reaches this
	// node within about this long even while it cannot listen. Default 1s.
	RetryInterval time.Duration
	// ResyncInterval reloads the keys even without a notification, in case one was lost.
	// Default 1m.
	ResyncInterval time.Duration
	// LastUsedInterval is how often a key's last use is written: at most once per interval
	// per key, in one batched statement per node. Default 1m.
	LastUsedInterval time.Duration
	// Issuer is the iss claim of a key's claims (request.jwt.claims). Default "goforward".
	Issuer string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verifier recognises API keys for the gateway without a query per request: it holds every
// live key's hash in memory, reloads them when goforward.api_keys changes on any node
// (LISTEN/NOTIFY), and notes uses to write them later in batches. Run keeps it current;
// Load must have succeeded once before Resolve knows any key.
type Verifier struct {
	pool   *pgxpool.Pool
	cfg    VerifierConfig
	logger *slog.Logger
	set    atomic.Pointer[keySet]

	mu      sync.Mutex
	pending map[string]time.Time // key id → last use not yet written

	// live holds the ids of the keys in memory, for Live.
	live    atomic.Pointer[map[string]struct{}]
	hooksMu sync.Mutex
	hooks   []func()
}

// keySet is the keys in memory, by the SHA-256 of the key.
type keySet map[[32]byte]*entry

type entry struct {
	grant   security.APIKeyGrant
	role    string
	claims  json.RawMessage
	expires time.Time // zero: never
	// lastNoted is the Unix second of the last use noted for writing; it is carried over
	// reloads so that a reload does not note a use again.
	lastNoted *atomic.Int64
}

// NewVerifier returns a Verifier reading goforward.api_keys through pool (the owner's).
func NewVerifier(pool *pgxpool.Pool, cfg VerifierConfig, logger *slog.Logger) *Verifier {
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = DefaultResyncInterval
	}
	if cfg.LastUsedInterval <= 0 {
		cfg.LastUsedInterval = DefaultLastUsedInterval
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Verifier{pool: pool, cfg: cfg, logger: logger, pending: map[string]time.Time{}}
}

// Resolve returns the principal an API key stands for: role anon for a publishable key,
// service_role for a secret one, with the key's grant (its scope) in Principal.Key. It
// fails with ErrUnknownKey (also for revoked keys and anything that is not an API key) or
// ErrKeyExpired. It reads only memory; a use is noted for the next batched write.
func (v *Verifier) Resolve(_ context.Context, key string) (security.Principal, error) {
	set := v.set.Load()
	if set == nil || !security.IsAPIKey(key) {
		return security.Principal{}, ErrUnknownKey
	}
	e := (*set)[security.HashAPIKey(key)]
	if e == nil {
		return security.Principal{}, ErrUnknownKey
	}
	now := v.cfg.Now()
	if !e.expires.IsZero() && !now.Before(e.expires) {
		return security.Principal{}, ErrKeyExpired
	}
	v.noteUse(e, now)
	grant := e.grant
	return security.Principal{
		Role:   e.role,
		Claims: append(json.RawMessage(nil), e.claims...),
		Token:  key,
		Key:    &grant,
	}, nil
}

// noteUse remembers that e was used at now, at most once per LastUsedInterval.
func (v *Verifier) noteUse(e *entry, now time.Time) {
	sec := now.Unix()
	last := e.lastNoted.Load()
	if sec-last < int64(v.cfg.LastUsedInterval/time.Second) || !e.lastNoted.CompareAndSwap(last, sec) {
		return
	}
	v.mu.Lock()
	v.pending[e.grant.ID] = now
	v.mu.Unlock()
}

// Load reads every live key (and those expired in the last 30 days) into memory, replacing
// what was there.
func (v *Verifier) Load(ctx context.Context) error {
	rows, err := v.pool.Query(ctx, `SELECT id, name, kind, key_hash, scopes, created_at, expires_at, last_used_at
FROM goforward.api_keys
WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now() - $1::interval)`, keptAfterExpiry)
	if err != nil {
		return fmt.Errorf("apikeys: load: %w", err)
	}
	old := map[string]*atomic.Int64{}
	if prev := v.set.Load(); prev != nil {
		for _, e := range *prev {
			old[e.grant.ID] = e.lastNoted
		}
	}
	set := keySet{}
	var (
		id, name, kind    string
		hash              []byte
		scopes            security.KeyScope
		created           time.Time
		expires, lastUsed *time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &name, &kind, &hash, &scopes, &created, &expires, &lastUsed}, func() error {
		e, err := v.newEntry(id, name, kind, scopes, created, expires)
		if err != nil {
			return err
		}
		if n, ok := old[id]; ok {
			e.lastNoted = n
		} else if lastUsed != nil {
			e.lastNoted.Store(lastUsed.Unix())
		}
		var h [32]byte
		copy(h[:], hash)
		set[h] = e
		scopes = security.KeyScope{}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apikeys: load: %w", err)
	}
	live := make(map[string]struct{}, len(set))
	for _, e := range set {
		live[e.grant.ID] = struct{}{}
	}
	v.set.Store(&set)
	v.live.Store(&live)
	v.hooksMu.Lock()
	hooks := v.hooks
	v.hooksMu.Unlock()
	for _, fn := range hooks {
		fn()
	}
	return nil
}

// Live reports whether the key with id is known and not revoked, as of the last Load (an
// expired key still is: its holder learns so from its expiry).
func (v *Verifier) Live(id string) bool {
	live := v.live.Load()
	if live == nil {
		return false
	}
	_, ok := (*live)[id]
	return ok
}

// OnReload registers fn to run after every Load, so that holders of long-lived connections
// (realtime's sockets) can end those of keys revoked meanwhile. fn must not block.
func (v *Verifier) OnReload(fn func()) {
	v.hooksMu.Lock()
	v.hooks = append(v.hooks, fn)
	v.hooksMu.Unlock()
}

func (v *Verifier) newEntry(id, name, kind string, scopes security.KeyScope, created time.Time, expires *time.Time) (*entry, error) {
	role := security.RoleAnon
	if kind == security.KindSecret {
		role = security.RoleServiceRole
	}
	e := &entry{
		grant: security.APIKeyGrant{ID: id, Name: name, Kind: kind, Scope: scopes},
		role:  role, lastNoted: new(atomic.Int64),
	}
	exp := created.AddDate(staticLifetime, 0, 0)
	if expires != nil {
		e.expires, e.grant.ExpiresAt, exp = *expires, *expires, *expires
	}
	// What request.jwt.claims holds for the key: the claims of the legacy key of its role,
	// and the key's id for policies and audit triggers that want to tell keys apart.
	claims, err := json.Marshal(map[string]any{
		"iss": v.cfg.Issuer, "role": role, "iat": created.Unix(), "exp": exp.Unix(), "api_key_id": id,
	})
	if err != nil {
		return nil, err
	}
	e.claims = claims
	return e, nil
}

// FlushLastUsed writes the uses noted since the last flush in one statement, and returns how
// many keys it updated. A key already marked used within LastUsedInterval (by another node)
// is left alone, so the database sees at most one write per key per interval.
func (v *Verifier) FlushLastUsed(ctx context.Context) (int64, error) {
	v.mu.Lock()
	pending := v.pending
	v.pending = map[string]time.Time{}
	v.mu.Unlock()
	if len(pending) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(pending))
	ats := make([]time.Time, 0, len(pending))
	for id, at := range pending {
		ids = append(ids, id)
		ats = append(ats, at)
	}
	tag, err := v.pool.Exec(ctx, `UPDATE goforward.api_keys k SET last_used_at = u.at
FROM unnest($1::uuid[], $2::timestamptz[]) AS u (id, at)
WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at <= u.at - $3::interval)`, ids, ats, v.cfg.LastUsedInterval)
	if err != nil {
		v.mu.Lock()
		for id, at := range pending {
			if cur, ok := v.pending[id]; !ok || cur.Before(at) {
				v.pending[id] = at
			}
		}
		v.mu.Unlock()
		return 0, fmt.Errorf("apikeys: write last use: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Run keeps the keys current until ctx ends, then writes the uses still pending and returns
// nil: it listens on Channel and reloads on every notification, every ResyncInterval, and
// after every reconnection (reloading on each retry while it cannot listen); and it writes
// last uses every LastUsedInterval. Failures are logged and retried, never returned.
func (v *Verifier) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { v.listenLoop(ctx); return nil })
	g.Go(func() error { v.flushLoop(ctx); return nil })
	return g.Wait()
}

func (v *Verifier) listenLoop(ctx context.Context) {
	for {
		err := v.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		v.logger.WarnContext(ctx, "api key listener failed; retrying", "error", err, "retry_in", v.cfg.RetryInterval)
		select {
		case <-ctx.Done():
			return
		case <-time.After(v.cfg.RetryInterval):
		}
		// Notifications are lost while not listening: read the keys again at every retry,
		// so that a revocation still takes effect here within RetryInterval.
		if err := v.Load(ctx); err != nil && ctx.Err() == nil {
			v.logger.WarnContext(ctx, "api keys could not be reloaded", "error", err)
		}
	}
}

func (v *Verifier) listen(ctx context.Context) error {
	connCfg := v.pool.Config().ConnConfig.Copy()
	// A timed-out wait (the resync below) must only set a read deadline, not cancel the
	// connection's query on the server and make the connection unusable.
	connCfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, connCfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := v.Load(ctx); err != nil {
		return err
	}
	for {
		waitCtx, cancel := context.WithTimeout(ctx, v.cfg.ResyncInterval)
		_, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		default:
			return fmt.Errorf("wait for notification: %w", err)
		}
		if err := v.Load(ctx); err != nil {
			return err
		}
	}
}

func (v *Verifier) flushLoop(ctx context.Context) {
	ticker := time.NewTicker(v.cfg.LastUsedInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			// The uses of the last interval would be lost otherwise.
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if _, err := v.FlushLastUsed(flushCtx); err != nil {
				v.logger.Warn("api key last uses not written", "error", err)
			}
			cancel()
			return
		case <-ticker.C:
			if _, err := v.FlushLastUsed(ctx); err != nil && ctx.Err() == nil {
				v.logger.WarnContext(ctx, "api key last uses not written", "error", err)
			}
		}
	}
}
