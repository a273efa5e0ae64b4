package auth

import (
	"net/http"

	"github.com/jackc/pgx/v5"
)

// logout is POST /logout?scope=global|local|others: it ends all of the user's sessions
// (global, the default), the current one (local) or all but the current one (others), and
// answers 204. Access tokens already issued stay valid until they expire, but GET /user and
// every refresh of an ended session fail.
func (s *Service) logout(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireUser(r)
	if err != nil {
		return err
	}
	scope := r.URL.Query().Get("scope")
	var sql string
	switch scope {
	case "", "global":
		scope, sql = "global", `DELETE FROM auth.sessions WHERE user_id = $1`
	case "local":
		sql = `DELETE FROM auth.sessions WHERE user_id = $1 AND id::text = $2`
	case "others":
		sql = `DELETE FROM auth.sessions WHERE user_id = $1 AND id::text <> $2`
	default:
		return badRequest(CodeValidationFailed, "Unsupported logout scope %q", scope)
	}
	sessionID := ""
	if c.Session != nil {
		sessionID = c.Session.ID
	}
	ctx, client, now := r.Context(), clientOf(r), s.now()
	b := &pgx.Batch{}
	if scope == "global" {
		b.Queue(sql, c.User.ID)
	} else {
		b.Queue(sql, c.User.ID, sessionID)
	}
	queueAudit(b, c.User, auditLogout, map[string]any{"scope": scope}, client, now)
	securityEvent{UserID: c.User.ID, Type: eventLogout, Details: map[string]any{"scope": scope, "session_id": sessionID}}.queue(b, client, now)
	if err := runBatch(ctx, s.pool, b); err != nil {
		return internalError("Database error logging out", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
