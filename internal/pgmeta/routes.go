package pgmeta

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
)

// need says what a route takes. Reading the catalog is open to whoever may see the dashboard;
// changing the database takes can_manage_database.
type need int

const (
	needRead need = iota
	needWrite
	// needSQL runs SQL: can_access_sql (system admins, the service-role key).
	needSQL
)

// route is one endpoint and what it takes to call it.
type route struct {
	method  string
	path    string // under Prefix
	need    need
	handler func(w http.ResponseWriter, r *http.Request, p access.Principal) error
}

// routes is the service's whole surface: postgres-meta's routes, plus /relationships.
func (s *Service) routes() []route {
	var rts []route
	for _, res := range resources {
		rts = append(rts, route{method: "GET", path: "/" + res.path, need: needRead, handler: s.list(res)})
		if res.get != getNone {
			rts = append(rts, route{method: "GET", path: "/" + res.path + "/{id}", need: needRead, handler: s.get(res)})
		}
	}
	rts = append(rts, s.writeRoutes()...)
	rts = append(rts, s.queryRoutes()...)
	rts = append(rts,
		route{method: "GET", path: "/config/version", need: needRead, handler: s.version},
		route{method: "GET", path: "/relationships", need: needRead, handler: s.relationships},
		route{method: "GET", path: "/generators/typescript", need: needRead, handler: s.typescript},
	)
	return rts
}

// allowed reports whether p may call a route needing n.
func allowed(p access.Principal, n need) bool {
	switch n {
	case needSQL:
		return p.Has(access.CanAccessSQL)
	case needRead:
		if p.Has(access.CanViewDashboard) {
			return true
		}
	}
	return p.Has(access.CanManageDatabase)
}

// needs names the capabilities that grant n, for messages and the audit log.
func needs(n need) []string {
	switch n {
	case needSQL:
		return []string{string(access.CanAccessSQL)}
	case needRead:
		return []string{string(access.CanManageDatabase), string(access.CanViewDashboard)}
	}
	return []string{string(access.CanManageDatabase)}
}

// guard authenticates the request, checks what the route needs and hands the principal to the
// handler. A refusal is audited: who tried to read or change the schema is worth knowing.
func (s *Service) guard(rt route) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.auth.Authenticate(r)
		if err != nil {
			return authError(err)
		}
		if !allowed(p, rt.need) {
			if rt.need == needSQL {
				s.auditQueryDenied(r, p)
			} else {
				s.auditDenied(r, p, rt)
			}
			return apiError(http.StatusForbidden, codeInsufficientCapability,
				"This action needs the %s capability, which your admin level (%s) does not have", strings.Join(needs(rt.need), " or "), p.Level)
		}
		timeout := s.cfg.QueryTimeout
		if rt.need == needSQL {
			timeout = s.cfg.SQL.RequestTimeout
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		return rt.handler(w, r.WithContext(access.WithPrincipal(ctx, p)), p)
	}
}

// authError turns an authentication failure into the answer the client gets.
func authError(err error) error {
	switch {
	case errors.Is(err, access.ErrNoCredentials):
		return apiError(http.StatusUnauthorized, codeNoAuthorization, "This endpoint requires an admin session (Authorization: Bearer gfa_…) or the service-role key")
	case errors.Is(err, access.ErrSessionInvalid):
		return apiError(http.StatusUnauthorized, codeSessionExpired, "The admin session is invalid or has expired; sign in again")
	case errors.Is(err, access.ErrNotPrivileged):
		return apiError(http.StatusForbidden, codeNotAdmin, "This token does not grant access to the database API; use an admin session or the service-role key")
	case errors.Is(err, access.ErrCSRF):
		return apiError(http.StatusForbidden, codeCSRF, "The %s header is missing or does not match the session", access.CSRFHeader)
	}
	return err
}

// auditDenied records a refused call. It is written on its own (there is no change to commit
// it with) and detached from the request, so a client that hangs up cannot erase it.
func (s *Service) auditDenied(r *http.Request, p access.Principal, rt route) {
	e := audit.Entry{Actor: p.Actor(), Action: "meta.access_denied", Client: audit.ClientOf(r),
		Outcome: audit.Denied, Severity: audit.Warning, ResourceType: "route", ResourceID: rt.method + " " + Prefix + rt.path,
		Details: map[string]any{"level": string(p.Level), "path": r.URL.Path}}
	e.Details["needs"] = needs(rt.need)
	if err := audit.Record(context.WithoutCancel(r.Context()), s.pool, e); err != nil {
		s.logger.Error("pgmeta: audit a refused request", "error", err)
	}
}
