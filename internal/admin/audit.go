package admin

import (
	"context"
	"net/http"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
)

// entry starts an audit entry for an action of p in request r.
func entry(r *http.Request, p access.Principal, action string) audit.Entry {
	return audit.Entry{Actor: p.Actor(), Action: action, Client: audit.ClientOf(r)}
}

// auditDenied records a refused call. It is written on its own (there is no change to commit
// it with) and detached from the request, so a client that hangs up cannot erase it.
func (s *Service) auditDenied(r *http.Request, p access.Principal, rt route) {
	e := entry(r, p, "admin.access_denied")
	e.Outcome, e.Severity = audit.Denied, audit.Warning
	e.ResourceType, e.ResourceID = "route", rt.method+" "+Prefix+rt.path
	e.Details = map[string]any{"needs": string(rt.need), "level": string(p.Level)}
	if err := audit.Record(context.WithoutCancel(r.Context()), s.pool, e); err != nil {
		s.logger.Error("admin: audit a refused request", "error", err)
	}
}
