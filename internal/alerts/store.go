// Package alerts is Go Forward's security monitor (the original design's SecurityMonitor):
// rules read the audit log (goforward.audit_log) incrementally and raise alerts in
// goforward.security_alerts, which are posted to a signed webhook, mailed to the system
// admins and may lock an account or block an address for a time. It also holds the alerts'
// store (list, acknowledge, resolve) that the admin API and the CLI share, and the gateway's
// client guard (blocked addresses, bursts of 401/403).
//
// It is a base package: the admin service and the CLI use it, and it knows neither.
package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/audit"
)

// Statuses of an alert.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// Actions a rule may take.
const (
	ActionNone        = "none"
	ActionLockAccount = "lock_account"
	ActionBlockIP     = "block_ip"
)

// Errors of the store; callers render them in their own shape.
var (
	ErrNotFound = errors.New("alerts: no such alert")
	// ErrResolved: a resolved alert is closed; a new hit opens a new alert.
	ErrResolved = errors.New("alerts: the alert is resolved")
	// ErrInvalid: a filter or a status the store does not know.
	ErrInvalid = errors.New("alerts: invalid request")
)

// Alert is one row of goforward.security_alerts.
type Alert struct {
	ID              int64           `json:"id"`
	Rule            string          `json:"rule"`
	Severity        string          `json:"severity"`
	Subject         string          `json:"subject"`
	Message         string          `json:"message"`
	Details         json.RawMessage `json:"details"`
	FirstSeen       time.Time       `json:"first_seen"`
	LastSeen        time.Time       `json:"last_seen"`
	Count           int64           `json:"count"`
	Status          string          `json:"status"`
	AuditEntryID    *int64          `json:"audit_entry_id"`
	Action          string          `json:"action"`
	ActionUntil     *time.Time      `json:"action_until"`
	AcknowledgedAt  *time.Time      `json:"acknowledged_at"`
	AcknowledgedBy  *string         `json:"acknowledged_by"`
	AcknowledgedVia *string         `json:"acknowledged_via"`
	ResolvedAt      *time.Time      `json:"resolved_at"`
	ResolvedBy      *string         `json:"resolved_by"`
	ResolvedVia     *string         `json:"resolved_via"`
}

const alertColumns = `id, rule, severity, subject, message, details::text, first_seen, last_seen, count, status,
  audit_entry_id, action, action_until, acknowledged_at, acknowledged_by::text, acknowledged_via, resolved_at,
  resolved_by::text, resolved_via`

func scanAlert(row pgx.CollectableRow) (Alert, error) { return scanAlertWith(row) }

// scanAlertWith reads alertColumns and then extra.
func scanAlertWith(row pgx.CollectableRow, extra ...any) (Alert, error) {
	var a Alert
	var details string
	dest := append([]any{&a.ID, &a.Rule, &a.Severity, &a.Subject, &a.Message, &details, &a.FirstSeen, &a.LastSeen, &a.Count,
		&a.Status, &a.AuditEntryID, &a.Action, &a.ActionUntil, &a.AcknowledgedAt, &a.AcknowledgedBy, &a.AcknowledgedVia,
		&a.ResolvedAt, &a.ResolvedBy, &a.ResolvedVia}, extra...)
	err := row.Scan(dest...)
	a.Details = compact(details)
	a.FirstSeen, a.LastSeen = a.FirstSeen.UTC(), a.LastSeen.UTC()
	return a, err
}

// compact is jsonb's text without its spaces.
func compact(s string) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return json.RawMessage(s)
	}
	return b.Bytes()
}

// Querier is what the store reads and writes through: a pool, a connection or a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Finding is what a rule found: Hits more matching entries about Subject.
type Finding struct {
	Rule, Severity, Subject, Message string
	Details                          map[string]any
	At                               time.Time // the newest matching entry's time
	EntryID                          int64     // the newest matching entry; 0 for none
	Hits                             int64     // added to the alert's count; at least 1
}

// Raise records f: a new open alert, or one more count (and a later last_seen) on the alert
// of the same rule and subject that is not resolved yet. created reports a new alert, the one
// that notifications and actions follow.
func Raise(ctx context.Context, q Querier, f Finding) (a Alert, created bool, err error) {
	if f.Hits < 1 {
		f.Hits = 1
	}
	if f.Details == nil {
		f.Details = map[string]any{}
	}
	var entry *int64
	if f.EntryID > 0 {
		entry = &f.EntryID
	}
	rows, err := q.Query(ctx, `INSERT INTO goforward.security_alerts AS a
  (rule, severity, subject, message, details, first_seen, last_seen, count, audit_entry_id)
VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)
ON CONFLICT (rule, subject) WHERE status <> 'resolved' DO UPDATE SET
  count = a.count + excluded.count, last_seen = greatest(a.last_seen, excluded.last_seen),
  details = excluded.details, message = excluded.message, audit_entry_id = coalesce(excluded.audit_entry_id, a.audit_entry_id)
RETURNING `+alertColumns+`, xmax = 0`, f.Rule, f.Severity, f.Subject, f.Message, f.Details, f.At.UTC(), f.Hits, entry)
	if err != nil {
		return Alert{}, false, fmt.Errorf("alerts: raise %s: %w", f.Rule, err)
	}
	a, err = pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (Alert, error) {
		return scanAlertWith(row, &created)
	})
	if err != nil {
		return Alert{}, false, fmt.Errorf("alerts: raise %s: %w", f.Rule, err)
	}
	return a, created, nil
}

// Filter selects alerts for List.
type Filter struct {
	Status   string // "" for every status
	Rule     string
	Severity string
	Subject  string
	Limit    int    // 1–500; 0 means 50
	Cursor   string // a page's NextCursor
}

// Page is one page of alerts, newest first.
type Page struct {
	Alerts     []Alert `json:"alerts"`
	NextCursor *string `json:"next_cursor"`
}

// List returns the alerts f selects, newest first, keyed on the id so that alerts raised
// meanwhile neither repeat nor shift a page.
func List(ctx context.Context, q Querier, f Filter) (Page, error) {
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > 500 {
		return Page{}, fmt.Errorf("%w: limit must be between 1 and 500", ErrInvalid)
	}
	if f.Status != "" && f.Status != StatusOpen && f.Status != StatusAcknowledged && f.Status != StatusResolved {
		return Page{}, fmt.Errorf("%w: status must be open, acknowledged or resolved", ErrInvalid)
	}
	if f.Severity != "" && f.Severity != audit.Info && f.Severity != audit.Warning && f.Severity != audit.Critical {
		return Page{}, fmt.Errorf("%w: severity must be info, warning or critical", ErrInvalid)
	}
	var before int64
	if f.Cursor != "" {
		n, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || n <= 0 {
			return Page{}, fmt.Errorf("%w: cursor is not one this API wrote", ErrInvalid)
		}
		before = n
	}
	rows, err := q.Query(ctx, `SELECT `+alertColumns+` FROM goforward.security_alerts
WHERE ($1 = '' OR status = $1) AND ($2 = '' OR rule = $2) AND ($3 = '' OR severity = $3) AND ($4 = '' OR subject = $4)
  AND ($5 = 0 OR id < $5)
ORDER BY id DESC LIMIT $6`, f.Status, f.Rule, f.Severity, f.Subject, before, f.Limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("alerts: list: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return Page{}, fmt.Errorf("alerts: list: %w", err)
	}
	page := Page{Alerts: list}
	if len(list) > f.Limit {
		page.Alerts = list[:f.Limit]
		next := strconv.FormatInt(page.Alerts[f.Limit-1].ID, 10)
		page.NextCursor = &next
	}
	if page.Alerts == nil {
		page.Alerts = []Alert{}
	}
	return page, nil
}

// Get returns one alert.
func Get(ctx context.Context, q Querier, id int64) (Alert, error) {
	rows, err := q.Query(ctx, `SELECT `+alertColumns+` FROM goforward.security_alerts WHERE id = $1`, id)
	if err != nil {
		return Alert{}, fmt.Errorf("alerts: get: %w", err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanAlert)
	if errors.Is(err, pgx.ErrNoRows) {
		return Alert{}, ErrNotFound
	}
	return a, err
}

// SetStatus acknowledges (StatusAcknowledged) or resolves (StatusResolved) alert id on behalf
// of actor and records it in the audit log (alerts.acknowledge, alerts.resolve) in tx.
// Acknowledging an acknowledged alert changes nothing and records nothing; a resolved alert
// is ErrResolved.
func SetStatus(ctx context.Context, tx pgx.Tx, id int64, status string, actor audit.Actor, client audit.Client) (Alert, error) {
	if status != StatusAcknowledged && status != StatusResolved {
		return Alert{}, fmt.Errorf("%w: status must be acknowledged or resolved", ErrInvalid)
	}
	var current string
	err := tx.QueryRow(ctx, `SELECT status FROM goforward.security_alerts WHERE id = $1 FOR UPDATE`, id).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) {
		return Alert{}, ErrNotFound
	}
	if err != nil {
		return Alert{}, fmt.Errorf("alerts: set status: %w", err)
	}
	if current == StatusResolved {
		return Alert{}, ErrResolved
	}
	if current == status {
		return Get(ctx, tx, id)
	}
	var by *string
	if actor.Type == audit.ActorAdmin && actor.ID != "" {
		by = &actor.ID
	}
	// An alert resolved without being acknowledged is acknowledged by the same hand.
	set := `acknowledged_at = now(), acknowledged_by = $2, acknowledged_via = $3`
	if status == StatusResolved {
		set = `resolved_at = now(), resolved_by = $2, resolved_via = $3,
  acknowledged_by = CASE WHEN acknowledged_at IS NULL THEN $2 ELSE acknowledged_by END,
  acknowledged_via = coalesce(acknowledged_via, $3), acknowledged_at = coalesce(acknowledged_at, now())`
	}
	if _, err := tx.Exec(ctx, `UPDATE goforward.security_alerts SET status = $4, `+set+` WHERE id = $1`,
		id, by, actor.Type, status); err != nil {
		return Alert{}, fmt.Errorf("alerts: set status: %w", err)
	}
	a, err := Get(ctx, tx, id)
	if err != nil {
		return Alert{}, err
	}
	action := "alerts.acknowledge"
	if status == StatusResolved {
		action = "alerts.resolve"
	}
	if err := audit.Record(ctx, tx, audit.Entry{
		Actor: actor, Action: action, ResourceType: "security_alert", ResourceID: strconv.FormatInt(id, 10), Client: client,
		Details: map[string]any{"rule": a.Rule, "subject": a.Subject, "from": current, "count": a.Count},
	}); err != nil {
		return Alert{}, err
	}
	return a, nil
}
