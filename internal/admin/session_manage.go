package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
)

// Every admin sees and ends its own sessions; seeing or ending another's takes
// can_manage_system (system admins, the service role, emergency access), which is also what
// a principal without sessions of its own (the service role) needs to list any.

// sessionView is a session as listed: current marks the one the request rode on.
type sessionView struct {
	access.Session
	Current bool `json:"current"`
}

// listSessions serves GET /sessions: the caller's live sessions, newest first, or with
// ?all=true every admin's (and emergency access's).
func (s *Service) listSessions(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	userID := p.UserID
	if r.URL.Query().Get("all") == "true" || userID == "" {
		if !p.Has(access.CanManageSystem) {
			s.auditDenied(r, p, route{method: http.MethodGet, path: "/sessions?all=true", need: access.CanManageSystem})
			return forbidden(CodeInsufficientCapability, "Listing every admin's sessions needs the %s capability, which your admin level (%s) does not have", access.CanManageSystem, p.Level)
		}
		userID = ""
	}
	list, err := s.auth.Sessions.List(r.Context(), s.pool, userID)
	if err != nil {
		return internalError(err)
	}
	views := make([]sessionView, 0, len(list))
	for _, sess := range list {
		views = append(views, sessionView{Session: sess, Current: p.Session != nil && p.Session.ID == sess.ID})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sessions": views})
}

// revokeSession serves DELETE /sessions/{id}: ends one live session, the caller's own or,
// with can_manage_system, anyone's. A session the caller may not see is not found, as an
// unknown one is.
func (s *Service) revokeSession(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id := r.PathValue("id")
	sess, err := s.auth.Sessions.Get(r.Context(), s.pool, id)
	if errors.Is(err, access.ErrSessionInvalid) {
		return notFound("No live admin session has the id %q", id)
	}
	if err != nil {
		return internalError(err)
	}
	current := p.Session != nil && p.Session.ID == sess.ID
	own := current || sess.UserID != "" && sess.UserID == p.UserID
	if !own && !p.Has(access.CanManageSystem) {
		return notFound("No live admin session has the id %q", id)
	}
	action := actionSessionRevoked
	if current {
		action = actionSignOut
	}
	if err := s.endSession(r, p, sess, action); err != nil {
		return err
	}
	if current && p.ViaCookie {
		access.ClearCookie(w, s.cfg.SecureCookies)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signOut serves DELETE /sessions/current: ends the session the request rode on (and clears
// the dashboard's cookie when it came in one).
func (s *Service) signOut(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if p.Session == nil {
		return notFound("This request carries no admin session to end (the service-role key has none)")
	}
	if err := s.endSession(r, p, *p.Session, actionSignOut); err != nil {
		return err
	}
	if p.ViaCookie {
		access.ClearCookie(w, s.cfg.SecureCookies)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// endSession revokes sess and audits it in one transaction. Revoked by someone else, the
// entry is a warning: an admin was put out.
func (s *Service) endSession(r *http.Request, p access.Principal, sess access.Session, action string) error {
	ctx := r.Context()
	by := string(p.Kind)
	if p.UserID != "" {
		by += " " + p.UserID
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		ended, err := s.auth.Sessions.Revoke(ctx, tx, sess.ID, fmt.Sprintf("%s by %s", action, by))
		if err != nil || !ended {
			return err
		}
		e := entry(r, p, action)
		e.ResourceType, e.ResourceID = "admin_session", sess.ID
		e.Details = map[string]any{"session_user_id": sess.UserID, "session_kind": string(sess.Kind), "session_level": string(sess.Level)}
		if own := p.Session != nil && p.Session.ID == sess.ID || sess.UserID != "" && sess.UserID == p.UserID; !own {
			e.Severity = audit.Warning
		}
		return audit.Record(ctx, tx, e)
	})
	if err != nil {
		return internalError(err)
	}
	return nil
}
