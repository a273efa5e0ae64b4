package tablesecurity

import (
	"context"
	"net/http"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/security"
)

// TableRead writes a REST read of a table whose config audits select to the audit log, once
// the response is known (status). PostgreSQL has no trigger for reading, so the gateway calls
// this for every GET and HEAD of /rest/v1/{table}; tables that do not audit select cost a
// map lookup. The entry names the caller, the query string (the filters: what was looked
// for) and the status, never the rows.
func (r *Registry) TableRead(ctx context.Context, profile, table string, req *http.Request, status int) {
	if profile == "" {
		profile = r.DefaultSchema
	}
	rule := r.Rule(profile, table)
	if rule == nil || !rule.AuditSelect {
		return
	}
	e := audit.Entry{
		Action: "table.select", ResourceType: "table", ResourceID: profile + "." + table,
		Client:  audit.ClientOf(req),
		Details: map[string]any{"query": req.URL.RawQuery, "status": status, "method": req.Method},
	}
	e.Actor.Type = audit.ActorAnon
	if p, ok := security.PrincipalFrom(ctx); ok {
		e.Details["role"] = p.Role
		switch {
		case p.Role == security.RoleServiceRole:
			e.Actor.Type = audit.ActorServiceRole
		case p.Subject != "":
			e.Actor.Type, e.Actor.ID = audit.ActorUser, p.Subject
		}
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Outcome = audit.Denied
	case status >= 400:
		e.Outcome = audit.Error
	}
	// Detached from the request: a client hanging up must not erase the record of its read.
	if err := audit.Record(context.WithoutCancel(ctx), r.pool, e); err != nil {
		r.logger.ErrorContext(ctx, "tablesecurity: audit a read", "table", e.ResourceID, "error", err)
	}
}
