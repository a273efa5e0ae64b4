package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/audit"
)

// monitorLockKey is the session advisory lock whose holder is the one monitor of a database,
// so that several nodes never raise (and act on) the same finding twice.
const monitorLockKey int64 = 0x67665f616c657274 // "gf_alert"

// Defaults of Config's zero fields.
const (
	DefaultInterval  = 5 * time.Second
	DefaultBatchSize = 1000
)

// Config configures the monitor. Zero values mean the stated defaults.
type Config struct {
	// Interval between passes over the new audit entries. Default 5s.
	Interval time.Duration
	// BatchSize bounds the entries read in one step. Default 1000.
	BatchSize int
	// VerifyEvery is how often audit verification runs for audit_chain_broken; 0: never
	// (the sealer's own alert remains).
	VerifyEvery time.Duration
	// AuditDir is audit.Dir(data directory), which verification reads.
	AuditDir string
	// Rules are the rules that run; a rule left out does not.
	Rules []Rule
}

// AccountLocker locks an account for a time (the lock_account action). *auth.Service does it
// by banning the user, through an adapter in the cli.
type AccountLocker interface {
	LockAccount(ctx context.Context, tx pgx.Tx, userID string, d time.Duration, reason string) error
}

// IPBlocker makes the gateway refuse an address for a time (the block_ip action).
type IPBlocker interface {
	Block(ctx context.Context, ip string, d time.Duration) error
}

// Deps are the monitor's collaborators.
type Deps struct {
	Pool *pgxpool.Pool // the owner's pool
	// Notifier posts and mails new alerts; nil sends nothing.
	Notifier *Notifier
	// Locker and Blocker carry out the actions; a rule whose action has none logs and skips it.
	Locker  AccountLocker
	Blocker IPBlocker
	Logger  *slog.Logger
	Now     func() time.Time
}

// Monitor runs the rules over the audit log. Build it with NewMonitor.
type Monitor struct {
	cfg    Config
	rules  map[string]Rule
	pool   *pgxpool.Pool
	notify *Notifier
	locker AccountLocker
	block  IPBlocker
	logger *slog.Logger
	now    func() time.Time
}

// NewMonitor builds a monitor; it does no I/O.
func NewMonitor(cfg Config, deps Deps) *Monitor {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	m := &Monitor{cfg: cfg, rules: map[string]Rule{}, pool: deps.Pool, notify: deps.Notifier, locker: deps.Locker,
		block: deps.Blocker, logger: deps.Logger, now: deps.Now}
	for _, r := range cfg.Rules {
		if r.Threshold < 1 {
			r.Threshold = 1
		}
		if r.Action == "" {
			r.Action = ActionNone
		}
		m.rules[r.Name] = r
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

// Run is the monitor of one node: it waits to be elected (a session advisory lock, taken
// over by another node when this one's connection ends), then works off the new audit entries
// every Interval and verifies the chain every VerifyEvery until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	ticker := time.NewTicker(m.cfg.Interval)
	defer ticker.Stop()
	for {
		if err := m.lead(ctx, ticker); err != nil && ctx.Err() == nil {
			m.logger.Error("security monitor: stepping down", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// lead holds the election lock on its own connection while it leads; it returns when ctx ends,
// the connection fails, or another node leads.
func (m *Monitor) lead(ctx context.Context, ticker *time.Ticker) error {
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var elected bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, monitorLockKey).Scan(&elected); err != nil || !elected {
		return err
	}
	defer func() {
		unlock, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(unlock, `SELECT pg_advisory_unlock($1)`, monitorLockKey); err != nil {
			conn.Conn().Close(unlock) // the lock ends with the session
		}
	}()
	for {
		if err := m.Drain(ctx); err != nil {
			return err
		}
		if err := m.verifyIfDue(ctx); err != nil {
			m.logger.Error("security monitor: verify the audit chain", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := conn.Ping(ctx); err != nil {
			return err
		}
	}
}

// Drain steps until the monitor has caught up with the sealed audit log.
func (m *Monitor) Drain(ctx context.Context) error {
	for {
		n, err := m.Step(ctx)
		if err != nil {
			return err
		}
		if n < m.cfg.BatchSize {
			return nil
		}
	}
}

// raised is an alert a step created, with what to do about it once the step commits.
type raised struct {
	alert Alert
	block string // an address to block
	until time.Duration
}

// Step evaluates the next batch of audit entries (at most BatchSize) and returns how many it
// read. It reads only entries the sealer has chained: ids are taken at insert but become
// visible at commit, so an entry below one already read may still appear, and the sealer
// chains strictly in id order once every lower id has settled. On a database it has never
// run on, the first step starts after the newest entry (past events raise nothing).
func (m *Monitor) Step(ctx context.Context) (int, error) {
	var out []raised
	var n int
	err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		var last int64
		err := tx.QueryRow(ctx, `SELECT last_entry_id FROM goforward.security_monitor FOR UPDATE`).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = tx.Exec(ctx, `INSERT INTO goforward.security_monitor (last_entry_id, updated_at)
SELECT coalesce(max(id), 0), now() FROM goforward.audit_log ON CONFLICT (id) DO NOTHING`)
			return err
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, occurred_at, actor_type, actor_id, actor_email, action, resource_type, resource_id,
  outcome, coalesce(host(ip), ''), details::text
FROM goforward.audit_log
WHERE id > $1 AND id <= (SELECT coalesce(max(entry_id), 0) FROM goforward.audit_chain)
ORDER BY id LIMIT $2`, last, m.cfg.BatchSize)
		if err != nil {
			return err
		}
		entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (entry, error) {
			var e entry
			var details string
			err := row.Scan(&e.ID, &e.At, &e.ActorType, &e.ActorID, &e.ActorEmail, &e.Action, &e.ResourceType, &e.ResourceID,
				&e.Outcome, &e.IP, &details)
			e.Details = decodeDetails(details)
			return e, err
		})
		if err != nil {
			return err
		}
		n = len(entries)
		if n == 0 {
			return nil
		}
		if out, err = m.evaluate(ctx, tx, entries); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE goforward.security_monitor SET last_entry_id = $1, updated_at = now()`, entries[n-1].ID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("security monitor: %w", err)
	}
	m.after(ctx, out)
	return n, nil
}

// group is the hits of one rule about one subject within a batch.
type group struct {
	last hit
	n    int64
}

// evaluate raises the alerts of a batch in tx. Hits are grouped by rule and subject first, so
// a flood of failures costs one window count per subject rather than per entry.
func (m *Monitor) evaluate(ctx context.Context, tx pgx.Tx, entries []entry) ([]raised, error) {
	groups := map[[2]string]*group{}
	var order [][2]string
	for _, e := range entries {
		hits := m.match(e)
		h, ok, err := m.newAdminIP(ctx, tx, e)
		if err != nil {
			return nil, err
		}
		if ok {
			hits = append(hits, h)
		}
		for _, h := range hits {
			k := [2]string{h.rule, h.subject}
			g := groups[k]
			if g == nil {
				g = &group{}
				groups[k] = g
				order = append(order, k)
			}
			// A counted hit never replaces an uncounted one: auth's own decision stands.
			if g.n == 0 || h.counted == g.last.counted || !h.counted {
				g.last = h
			}
			g.n++
		}
	}
	var out []raised
	for _, k := range order {
		g := groups[k]
		r := m.rules[g.last.rule]
		hits := g.n
		if g.last.counted && r.Threshold > 1 {
			c, err := m.windowCount(ctx, tx, g.last)
			if err != nil {
				return nil, err
			}
			if c < int64(r.Threshold) {
				continue
			}
			hits = min(hits, c-int64(r.Threshold)+1)
			g.last.details["count_in_window"] = c
			g.last.details["window"] = r.Window.String()
		}
		a, created, err := Raise(ctx, tx, Finding{
			Rule: r.Name, Severity: r.Severity, Subject: g.last.subject, Message: g.last.message, Details: g.last.details,
			At: g.last.entry.At, EntryID: g.last.entry.ID, Hits: hits,
		})
		if err != nil {
			return nil, err
		}
		if !created {
			continue
		}
		rs := raised{alert: a}
		if err := m.act(ctx, tx, r, g.last, &rs); err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, nil
}

// act carries out a new alert's action: a lock in tx (it commits with the alert), a block
// after the commit (Redis is no part of the transaction).
func (m *Monitor) act(ctx context.Context, tx pgx.Tx, r Rule, h hit, rs *raised) error {
	switch {
	case r.Action == ActionLockAccount && m.locker != nil && h.target != "":
		if err := m.locker.LockAccount(ctx, tx, h.target, r.ActionDuration, "security alert "+r.Name); err != nil {
			return fmt.Errorf("lock account %s: %w", h.target, err)
		}
	case r.Action == ActionBlockIP && m.block != nil && h.target != "":
		rs.block, rs.until = h.target, r.ActionDuration
	case r.Action != ActionNone:
		m.logger.Warn("security monitor: the rule's action cannot be taken here", "rule", r.Name, "action", r.Action)
		return nil
	default:
		return nil
	}
	until := m.now().Add(r.ActionDuration).UTC()
	if _, err := tx.Exec(ctx, `UPDATE goforward.security_alerts SET action = $2, action_until = $3 WHERE id = $1`,
		rs.alert.ID, r.Action, until); err != nil {
		return err
	}
	rs.alert.Action, rs.alert.ActionUntil = r.Action, &until
	e := audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}, Action: "alerts." + r.Action, Severity: audit.Warning,
		ResourceType: "security_alert", ResourceID: fmt.Sprint(rs.alert.ID),
		Details: map[string]any{"rule": r.Name, "target": h.target, "until": until}}
	return audit.Record(ctx, tx, e)
}

// after blocks addresses and sends notifications once a step has committed.
func (m *Monitor) after(ctx context.Context, out []raised) {
	for _, rs := range out {
		if rs.block != "" {
			if err := m.block.Block(ctx, rs.block, rs.until); err != nil {
				m.logger.Error("security monitor: block an address", "alert", rs.alert.ID, "error", err)
			}
		}
		m.logger.Warn("security alert", "id", rs.alert.ID, "rule", rs.alert.Rule, "severity", rs.alert.Severity, "subject", rs.alert.Subject)
		if m.notify != nil {
			m.notify.Enqueue(rs.alert)
		}
	}
}

// verifyIfDue runs audit verification when VerifyEvery has passed since the last run (on any
// node) and raises audit_chain_broken when it fails.
func (m *Monitor) verifyIfDue(ctx context.Context) error {
	if _, ok := m.rules[RuleAuditChainBroken]; !ok || m.cfg.VerifyEvery <= 0 {
		return nil
	}
	var due bool
	if err := m.pool.QueryRow(ctx, `SELECT coalesce(last_verified_at < $1, true) FROM goforward.security_monitor`,
		m.now().Add(-m.cfg.VerifyEvery)).Scan(&due); err != nil || !due {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	}
	_, err := m.Verify(ctx)
	return err
}

// Verify runs audit verification and raises audit_chain_broken when the log was tampered
// with; it returns the alert raised, nil when the chain is intact.
func (m *Monitor) Verify(ctx context.Context) (*Alert, error) {
	report, err := audit.Verify(ctx, m.pool, m.cfg.AuditDir)
	if err != nil {
		return nil, err
	}
	if _, err := m.pool.Exec(ctx, `UPDATE goforward.security_monitor SET last_verified_at = $1`, m.now().UTC()); err != nil {
		return nil, err
	}
	r, ok := m.rules[RuleAuditChainBroken]
	if report.OK || !ok {
		return nil, nil
	}
	details := map[string]any{"first_broken": report.FirstBroken, "checked": report.Checked}
	a, created, err := Raise(ctx, m.pool, Finding{Rule: r.Name, Severity: r.Severity, Subject: "audit_log",
		Message: "Audit verification failed: the audit log was tampered with", Details: details, At: m.now()})
	if err != nil {
		return nil, err
	}
	if created {
		m.after(ctx, []raised{{alert: a}})
	}
	return &a, nil
}
