package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// adminRoutes are GoTrue's admin API and /invite, for tokens with an admin role
// (supabase.auth.admin in supabase-js, with the service-role key).
func (s *Service) adminRoutes() map[string]httpx.HandlerFunc {
	return map[string]httpx.HandlerFunc{
		"GET /admin/users":                                  s.adminListUsers,
		"POST /admin/users":                                 s.adminCreateUser,
		"GET /admin/users/{user_id}":                        s.adminGetUser,
		"PUT /admin/users/{user_id}":                        s.adminUpdateUser,
		"DELETE /admin/users/{user_id}":                     s.adminDeleteUser,
		"GET /admin/users/{user_id}/factors":                s.adminListFactors,
		"DELETE /admin/users/{user_id}/factors/{factor_id}": s.adminDeleteFactor,
		"POST /admin/generate_link":                         s.adminGenerateLink,
		"POST /invite":                                      s.invite,
	}
}

// nilUUID is the actor id of audit entries written for a key without a subject (the
// service-role key), as GoTrue writes them.
const nilUUID = "00000000-0000-0000-0000-000000000000"

// adminActor is the actor of audit entries for an admin action: the token's subject if it
// has one, named by its role.
func adminActor(p security.Principal) *user {
	id := nilUUID
	if isUUID(p.Subject) {
		id = p.Subject
	}
	return &user{ID: id, Email: p.Role}
}

// adminEvent is the security event of an admin action on target, acted by the token's
// holder: the service role (its subject, if any, is kept), its role in details.
func adminEvent(p security.Principal, eventType string, target string, details map[string]any) securityEvent {
	if details == nil {
		details = map[string]any{}
	}
	details["actor_role"] = p.Role
	if p.Subject != "" {
		details["actor_id"] = p.Subject
	}
	return securityEvent{UserID: target, Type: eventType, Details: details, Actor: adminAuditActor(p)}
}

// adminAuditActor is who the audit log names for an admin action: an admin, an emergency session
// or the CLI when the action came through the control plane (actorOf), else the holder of a
// service_role (or supabase_admin) token using GoTrue's admin API.
func adminAuditActor(p security.Principal) *audit.Actor {
	switch p.Role {
	case audit.ActorAdmin, audit.ActorEmergency, audit.ActorCLI:
		return &audit.Actor{Type: p.Role, ID: p.Subject}
	}
	return &audit.Actor{Type: audit.ActorServiceRole}
}

// loadUserFromPath is the user named by the path's user_id: a malformed id or an unknown
// user is 404, as GoTrue answers.
func (s *Service) loadUserFromPath(r *http.Request) (*user, error) {
	id := r.PathValue("user_id")
	if !isUUID(id) {
		return nil, notFound(CodeValidationFailed, "user_id must be an UUID")
	}
	u, err := findUserByID(r.Context(), s.pool, id)
	switch {
	case errors.Is(err, errNotFound):
		return nil, notFound(CodeUserNotFound, "User not found")
	case err != nil:
		return nil, internalError("Database error loading user", err)
	}
	return u, nil
}

// adminGetUser is GET /admin/users/{user_id}.
func (s *Service) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireAdmin(r); err != nil {
		return err
	}
	u, err := s.loadUserFromPath(r)
	if err != nil {
		return err
	}
	return writeJSON(w, u)
}

// parseBanDuration reads ban_duration as GoTrue does: "" leaves the ban as it is (nil),
// "none" lifts it (0), anything else is a Go duration ("24h", "90m", "876000h").
func parseBanDuration(raw string) (*time.Duration, error) {
	if raw == "" {
		return nil, nil
	}
	var d time.Duration
	if raw != "none" {
		var err error
		if d, err = time.ParseDuration(raw); err != nil {
			return nil, badRequest(CodeValidationFailed, "invalid format for ban duration: %v", err)
		}
	}
	return &d, nil
}

// setBan bans the user for d from now (0 lifts the ban) and records it. A ban stops password,
// refresh-token, one-time-code, custom-provider and MFA sign-ins with 400 user_banned; the
// sessions stay, so a banned client learns why its refresh fails.
func (s *Service) setBan(ctx context.Context, tx pgx.Tx, p security.Principal, u *user, d time.Duration, client clientInfo, now time.Time) error {
	var until *time.Time
	eventType := eventAdminUserUnbanned
	details := map[string]any{}
	if d != 0 {
		t := now.Add(d)
		until, eventType = &t, eventAdminUserBanned
		details["banned_until"] = t
		details["duration"] = d.String()
	}
	if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"banned_until": until}); err != nil {
		return internalError("Database error updating user", err)
	}
	ev := adminEvent(p, eventType, u.ID, details)
	ev.Severity = severityWarning
	return ev.record(ctx, tx, client, now)
}

// checkDuplicateAddress refuses an e-mail address or phone number held by a user other than
// self ("" for a new user): 422 email_exists / phone_exists, as GoTrue answers the admin API.
func checkDuplicateAddress(ctx context.Context, q querier, email, phone, self string) error {
	if email != "" {
		switch other, err := findUserByEmail(ctx, q, email); {
		case err == nil && other.ID != self:
			return unprocessable(CodeEmailExists, msgEmailExists)
		case err != nil && !errors.Is(err, errNotFound):
			return internalError("Database error checking email", err)
		}
	}
	if phone != "" {
		switch other, err := findUserByPhone(ctx, q, phone); {
		case err == nil && other.ID != self:
			return unprocessable(CodePhoneExists, "Phone number already registered by another user")
		case err != nil && !errors.Is(err, errNotFound):
			return internalError("Database error checking phone", err)
		}
	}
	return nil
}

// adminAudit writes GoTrue's audit entry of an admin action on u.
func adminAudit(ctx context.Context, q querier, p security.Principal, u *user, action string, c clientInfo, now time.Time) error {
	traits := map[string]any{"user_id": u.ID, "user_email": u.Email, "user_phone": u.Phone}
	if err := recordAudit(ctx, q, adminActor(p), action, traits, c, now); err != nil {
		return fmt.Errorf("admin audit: %w", err)
	}
	return nil
}
