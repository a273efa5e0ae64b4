package admin

import (
	"errors"
	"net/http"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/httpx"
)

// route is one endpoint and what it takes to call it.
type route struct {
	method string
	path   string // under Prefix
	// need is the capability the caller must hold. anyAdmin lets every authenticated
	// principal through (its own session, /me); public routes need no principal at all.
	need    access.Capability
	handler func(w http.ResponseWriter, r *http.Request, p access.Principal) error
	public  func(w http.ResponseWriter, r *http.Request) error
}

// anyAdmin is the need of routes every authenticated admin may call.
const anyAdmin access.Capability = ""

// routes is the service's whole surface, and the table the capability-matrix test reads:
// each route names the one capability it needs, checked on the server by guard.
func (s *Service) routes() []route {
	rts := []route{
		{method: "GET", path: "/me", need: anyAdmin, handler: s.me},
		{method: "POST", path: "/sessions", public: s.createSession},
		{method: "POST", path: "/sessions/mfa", public: s.signInMFA},
		{method: "GET", path: "/sessions", need: anyAdmin, handler: s.listSessions},
		{method: "DELETE", path: "/sessions/current", need: anyAdmin, handler: s.signOut},
		{method: "DELETE", path: "/sessions/{id}", need: anyAdmin, handler: s.revokeSession},
		{method: "GET", path: "/audit", need: access.CanViewBasicLogs, handler: s.auditList},
		{method: "GET", path: "/audit/export", need: access.CanExportData, handler: s.auditExport},
		{method: "GET", path: "/audit/verify", need: access.CanViewAllLogs, handler: s.auditVerify},
	}
	rts = append(rts, s.adminRoutes()...)
	rts = append(rts, s.userRoutes()...)
	rts = append(rts, s.migrationRoutes()...)
	rts = append(rts, s.tableSecurityRoutes()...)
	rts = append(rts, s.alertRoutes()...)
	rts = append(rts, s.cronRoutes()...)
	rts = append(rts, s.webhookRoutes()...)
	rts = append(rts, s.apiKeyRoutes()...)
	rts = append(rts, s.signingKeyRoutes()...)
	rts = append(rts, s.dashboardRoutes()...)
	return rts
}

// guard authenticates the request, checks the route's capability and hands the principal to
// the handler. A refusal is audited: who tried what is worth knowing.
func (s *Service) guard(rt route) httpx.HandlerFunc {
	if rt.public != nil {
		return rt.public
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.auth.Authenticate(r)
		if err != nil {
			return authError(err)
		}
		if rt.need != anyAdmin && !p.Has(rt.need) {
			s.auditDenied(r, p, rt)
			return forbidden(CodeInsufficientCapability, "This action needs the %s capability, which your admin level (%s) does not have", rt.need, p.Level)
		}
		return rt.handler(w, r.WithContext(access.WithPrincipal(r.Context(), p)), p)
	}
}

// authError turns an authentication failure into the answer the client gets.
func authError(err error) error {
	switch {
	case errors.Is(err, access.ErrNoCredentials):
		return unauthorized(CodeNoAuthorization, "This endpoint requires an admin session (Authorization: Bearer gfa_…) or the service-role key")
	case errors.Is(err, access.ErrSessionInvalid):
		return unauthorized(CodeSessionExpired, "The admin session is invalid or has expired; sign in again")
	case errors.Is(err, access.ErrNotPrivileged):
		return forbidden(CodeNotAdmin, "This token does not grant admin access; sign in as an admin")
	case errors.Is(err, access.ErrCSRF):
		return forbidden(CodeCSRF, "The %s header is missing or does not match the session", access.CSRFHeader)
	}
	return internalError(err)
}
