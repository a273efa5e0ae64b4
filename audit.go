package goforward

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
)

// AuditEntry is an event of the application's own for Go Forward's audit log
// (goforward.audit_log, docs/admin.md#audit-log): it is hash-chained, verified, queried,
// exported and kept like every other entry.
type AuditEntry struct {
	// Action names what happened, dotted, and must start with "app." (app.invoice.sent), so
	// the application's entries can never pass for Go Forward's own (admin.*, auth.*).
	Action string
	// Actor is who acted; the zero Principal records the system.
	Actor Principal
	// ResourceType and ResourceID say what the action was on ("invoice", "42").
	ResourceType string
	ResourceID   string
	// Outcome is "success" (the default), "denied" or "error".
	Outcome string
	// Severity is "info" (the default), "warning" or "critical".
	Severity string
	// Details is stored as JSON; keep secrets and personal data out of it.
	Details map[string]any
}

// Audit writes e to the audit log. With tx (a transaction of DB().Owner()), the entry
// commits or rolls back with the change it records; with a nil tx it is written on its own.
// A transaction of InRole cannot write it: the API roles have no access to the log. When
// ctx is a request's, the client's address and the request id are recorded too.
func (a *App) Audit(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	if !strings.HasPrefix(e.Action, "app.") || len(e.Action) == len("app.") {
		return fmt.Errorf("goforward: audit action %q must start with \"app.\"", e.Action)
	}
	switch e.Outcome {
	case "", audit.Success, audit.Denied, audit.Error:
	default:
		return fmt.Errorf("goforward: audit outcome %q must be success, denied or error", e.Outcome)
	}
	switch e.Severity {
	case "", audit.Info, audit.Warning, audit.Critical:
	default:
		return fmt.Errorf("goforward: audit severity %q must be info, warning or critical", e.Severity)
	}
	entry := audit.Entry{
		Actor: auditActor(e.Actor), Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		Outcome: e.Outcome, Severity: e.Severity, Details: e.Details,
		Client: audit.Client{IP: httpx.ClientIP(ctx), RequestID: httpx.RequestID(ctx)},
	}
	if tx != nil {
		return audit.Record(ctx, tx, entry)
	}
	d := a.DB()
	if d == nil {
		return errors.New("goforward: Audit: the database is not open (serve has not bootstrapped)")
	}
	return audit.Record(ctx, d.Owner(), entry)
}

func auditActor(p Principal) audit.Actor {
	email, _ := p.Claims["email"].(string)
	switch p.Role {
	case "":
		return audit.Actor{Type: audit.ActorSystem}
	case RoleAnon:
		return audit.Actor{Type: audit.ActorAnon}
	case RoleServiceRole:
		return audit.Actor{Type: audit.ActorServiceRole}
	default:
		return audit.Actor{Type: audit.ActorUser, ID: p.UserID, Email: email}
	}
}
