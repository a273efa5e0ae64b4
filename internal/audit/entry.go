// Package audit is Go Forward's one audit log (goforward.audit_log): every administrative and
// security-relevant event, written in the transaction of the change it records, append-only,
// and hash-chained by a single sealer shortly after commit so that an edited, removed or
// reordered row is found by Verify.
//
// It is a base package: auth, the admin service and the CLI all write through it.
package audit

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/httpx"
)

// Outcomes of an audited action.
const (
	Success = "success"
	Denied  = "denied"
	Error   = "error"
)

// Severities of an entry.
const (
	Info     = "info"
	Warning  = "warning"
	Critical = "critical"
)

// Actor types: who acted.
const (
	ActorAdmin       = "admin"
	ActorServiceRole = "service_role"
	ActorEmergency   = "emergency"
	ActorCLI         = "cli"
	ActorUser        = "user"
	ActorAnon        = "anon"
	ActorSystem      = "system"
)

// Actor is who acted: a type (the constants above), an id (a user id, a session id for
// emergency access), an e-mail address when known, and the admin session it acted in.
type Actor struct {
	Type      string
	ID        string
	Email     string
	SessionID string
}

// Client is where a request came from.
type Client struct {
	IP        netip.Addr
	UserAgent string
	RequestID string
}

// Entry is one row of the audit log.
type Entry struct {
	// ID is set by the database; OccurredAt defaults to the time of writing.
	ID         int64
	OccurredAt time.Time
	Actor      Actor
	Action     string // dotted, e.g. "admin.session.create", "auth.sign_in_failed"
	// Resource is what the action was on: a type ("user", "admin", "table") and an id.
	ResourceType string
	ResourceID   string
	Outcome      string // Success, Denied or Error; "" means Success
	Severity     string // Info, Warning or Critical; "" means Info
	Client       Client
	Details      map[string]any
}

// Execer is what an entry is written through: a transaction (so the entry commits or rolls
// back with the change it records), a connection or a pool.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const insertSQL = `INSERT INTO goforward.audit_log
  (occurred_at, actor_type, actor_id, actor_email, action, resource_type, resource_id, outcome, severity,
   ip, user_agent, request_id, session_id, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

// Record writes e through q. Write it in the transaction of the change it records: an action
// that rolls back leaves no entry, and an entry that fails to write fails the action.
func Record(ctx context.Context, q Execer, e Entry) error {
	if _, err := q.Exec(ctx, insertSQL, e.args(time.Now())...); err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// Queue adds e to the batch that makes the change it records. Where the change is a batch,
// prefer it to Record: the entry then costs no round trip of its own.
func Queue(b *pgx.Batch, e Entry) {
	b.Queue(insertSQL, e.args(time.Now())...)
}

func (e Entry) args(now time.Time) []any {
	at := e.OccurredAt
	if at.IsZero() {
		at = now
	}
	outcome, severity := e.Outcome, e.Severity
	if outcome == "" {
		outcome = Success
	}
	if severity == "" {
		severity = Info
	}
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	var ip any
	if e.Client.IP.IsValid() {
		ip = e.Client.IP.Unmap().WithZone("").String()
	}
	return []any{at.UTC(), e.Actor.Type, e.Actor.ID, e.Actor.Email, e.Action, e.ResourceType, e.ResourceID,
		outcome, severity, ip, e.Client.UserAgent, e.Client.RequestID, e.Actor.SessionID, details}
}

// ClientOf is where r came from, as the gateway resolved it.
func ClientOf(r *http.Request) Client {
	return Client{IP: httpx.ClientIP(r.Context()), UserAgent: r.UserAgent(), RequestID: httpx.RequestID(r.Context())}
}
