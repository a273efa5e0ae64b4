package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/security"
)

// User management for Go Forward's own admin service (/admin/v1) and the CLI. The admin
// package declares what it needs as an interface of its own; these methods implement it with
// the code of GoTrue's admin API (/auth/v1/admin/users), so both APIs change users alike. Each
// change runs in the caller's transaction: the admin service first locks the user and checks
// that the admin may manage them, and commits its audit entry with the change. Users go back
// and forth as GoTrue's User objects in JSON; failures are *httpx.AppError with GoTrue's codes.

// Security events of admin actions GoTrue's admin API has no route for.
const (
	eventAdminUserUnlocked  = "admin_user_unlocked"
	eventAdminUserSignedOut = "admin_user_signed_out"
	eventAdminMFAReset      = "admin_mfa_reset"
)

// actorOf is how an admin principal appears in auth's own records (auth.audit_log_entries,
// and its events in goforward.audit_log): its kind as the role, its user id (if any) as the subject.
func actorOf(p access.Principal) security.Principal {
	return security.Principal{Role: string(p.Kind), Subject: p.UserID}
}

func clientFrom(c audit.Client) clientInfo {
	ua := c.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return clientInfo{IP: c.IP, UserAgent: ua}
}

func userJSON(u *user) (json.RawMessage, error) {
	raw, err := json.Marshal(u)
	if err != nil {
		return nil, internalError("Error encoding user", err)
	}
	return raw, nil
}

// adminTarget loads the user id names within tx: a malformed id or an unknown user is 404
// user_not_found.
func adminTarget(ctx context.Context, tx pgx.Tx, id string) (*user, error) {
	if !isUUID(id) {
		return nil, notFound(CodeUserNotFound, "User not found: %q is not a user id", id)
	}
	u, err := findUserByID(ctx, tx, id)
	switch {
	case errors.Is(err, errNotFound):
		return nil, notFound(CodeUserNotFound, "User not found")
	case err != nil:
		return nil, internalError("Database error loading user", err)
	}
	return u, nil
}

// AdminLockUser returns the user id names and locks its row until tx ends, so that what the
// caller checks of the user (its groups, whether it is an admin) still holds when it acts.
func (s *Service) AdminLockUser(ctx context.Context, tx pgx.Tx, id string) (json.RawMessage, error) {
	if isUUID(id) {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM auth.users WHERE id = $1 FOR UPDATE`, id); err != nil {
			return nil, internalError("Database error locking user", err)
		}
	}
	u, err := adminTarget(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return userJSON(u)
}

// AdminFindUserID returns the id of the user with this e-mail address, or "" when there is
// none. A malformed address is 400 validation_failed.
func (s *Service) AdminFindUserID(ctx context.Context, tx pgx.Tx, email string) (string, error) {
	normalised, err := normaliseEmail(email)
	if err != nil {
		return "", err
	}
	u, err := findUserByEmail(ctx, tx, normalised)
	switch {
	case errors.Is(err, errNotFound):
		return "", nil
	case err != nil:
		return "", internalError("Database error finding user", err)
	}
	return u.ID, nil
}

// AdminListUsers answers one page of users as {"users","total","page","per_page"}; query is
// read as GET /auth/v1/admin/users reads it (page, per_page, filter, sort). groups, when not
// nil, keeps only the users whose app_metadata.groups holds one of them.
func (s *Service) AdminListUsers(ctx context.Context, query url.Values, groups []string) (json.RawMessage, error) {
	l, err := s.listUsers(ctx, query, groups)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(map[string]any{"users": l.users, "total": l.total, "page": l.page, "per_page": l.perPage})
	if err != nil {
		return nil, internalError("Error encoding users", err)
	}
	return raw, nil
}

// decodeAdminUser reads a body of POST/PUT /auth/v1/admin/users and checks it, with the
// password policy applied (the admin service applies it to new users too).
func (s *Service) decodeAdminUser(ctx context.Context, body json.RawMessage) (adminUserChange, error) {
	var params adminUserParams
	if err := json.Unmarshal(body, &params); err != nil {
		return adminUserChange{}, badRequest(CodeBadJSON, "Could not parse request body as JSON: %v", err)
	}
	return s.checkAdminUser(ctx, params, true)
}

// AdminCreateUser creates a user from a body of POST /auth/v1/admin/users.
func (s *Service) AdminCreateUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, body json.RawMessage) (json.RawMessage, error) {
	ch, err := s.decodeAdminUser(ctx, body)
	if err != nil {
		return nil, err
	}
	u, err := s.adminCreate(ctx, tx, actorOf(by), ch, clientFrom(c))
	if err != nil {
		return nil, err
	}
	return userJSON(u)
}

// AdminUpdateUser changes user id as PUT /auth/v1/admin/users/{id} does with body.
func (s *Service) AdminUpdateUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string, body json.RawMessage) (json.RawMessage, error) {
	u, err := adminTarget(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	ch, err := s.decodeAdminUser(ctx, body)
	if err != nil {
		return nil, err
	}
	updated, err := s.adminUpdate(ctx, tx, actorOf(by), u, ch, clientFrom(c))
	if err != nil {
		return nil, err
	}
	return userJSON(updated)
}

// AdminDeleteUser deletes user id (soft: strips it and keeps the row), as DELETE
// /auth/v1/admin/users/{id} does.
func (s *Service) AdminDeleteUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string, soft bool) error {
	u, err := adminTarget(ctx, tx, id)
	if err != nil {
		return err
	}
	return s.adminDelete(ctx, tx, actorOf(by), u, soft, clientFrom(c))
}

// AdminBanUser bans user id for duration (a Go duration such as "24h"), or lifts the ban
// ("none"), as ban_duration does on PUT /auth/v1/admin/users/{id}. A ban refuses every
// sign-in and refresh with 400 user_banned.
func (s *Service) AdminBanUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id, duration string) (json.RawMessage, error) {
	if duration == "" {
		return nil, badRequest(CodeValidationFailed, `A ban needs a duration, such as "24h", or "none" to lift it`)
	}
	d, err := parseBanDuration(duration)
	if err != nil {
		return nil, err
	}
	u, err := adminTarget(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	p, client, now := actorOf(by), clientFrom(c), s.now()
	if err := s.setBan(ctx, tx, p, u, *d, client, now); err != nil {
		return nil, err
	}
	if err := adminAudit(ctx, tx, p, u, auditUserModified, client, now); err != nil {
		return nil, err
	}
	banned, err := findUserByID(ctx, tx, u.ID)
	if err != nil {
		return nil, internalError("Database error loading user", err)
	}
	return userJSON(banned)
}

// AdminUnlockUser clears the user's sign-in lockout (every address's record and the
// account's own) and returns how many records it removed.
func (s *Service) AdminUnlockUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string) (int64, error) {
	u, err := adminTarget(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM auth.sign_in_lockouts WHERE user_id = $1`, u.ID)
	if err != nil {
		return 0, internalError("Database error clearing the lockout", err)
	}
	ev := adminEvent(actorOf(by), eventAdminUserUnlocked, u.ID, map[string]any{"records": tag.RowsAffected()})
	if err := ev.record(ctx, tx, clientFrom(c), s.now()); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// AdminSignOutUser ends every session of the user (POST /logout?scope=global on their
// behalf) and returns how many it ended. Access tokens already issued stay valid until they
// expire, as after a sign-out.
func (s *Service) AdminSignOutUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string) (int64, error) {
	u, err := adminTarget(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM auth.sessions WHERE user_id = $1`, u.ID)
	if err != nil {
		return 0, internalError("Database error ending sessions", err)
	}
	p, client, now := actorOf(by), clientFrom(c), s.now()
	if err := adminAudit(ctx, tx, p, u, auditLogout, client, now); err != nil {
		return 0, err
	}
	ev := adminEvent(p, eventAdminUserSignedOut, u.ID, map[string]any{"sessions": tag.RowsAffected()})
	if err := ev.record(ctx, tx, client, now); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// AdminResetMFA removes every factor of the user (and with the last one its backup codes),
// as DELETE /auth/v1/admin/users/{id}/factors/{factor_id} does one by one, for a user who
// lost their device. It returns how many factors it removed.
func (s *Service) AdminResetMFA(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string) (int, error) {
	u, err := adminTarget(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM auth.mfa_factors WHERE user_id = $1 FOR UPDATE`, u.ID); err != nil {
		return 0, internalError("Database error loading factors", err)
	}
	factors, err := listFactors(ctx, tx, u.ID)
	if err != nil {
		return 0, internalError("Database error loading factors", err)
	}
	p, client, now := actorOf(by), clientFrom(c), s.now()
	codesDropped := false
	for _, f := range factors {
		dropped, err := removeFactor(ctx, tx, f, now)
		if err != nil {
			return 0, internalError("Database error deleting factor", err)
		}
		codesDropped = codesDropped || dropped
		traits := map[string]any{"user_id": u.ID, "factor_id": f.ID}
		if err := recordAudit(ctx, tx, adminActor(p), auditFactorDeleted, traits, client, now); err != nil {
			return 0, err
		}
	}
	// Backup codes stand in for a factor; without factors none may remain.
	tag, err := tx.Exec(ctx, `DELETE FROM auth.mfa_backup_codes WHERE user_id = $1`, u.ID)
	if err != nil {
		return 0, internalError("Database error deleting backup codes", err)
	}
	if err := s.recordBackupCodesDropped(ctx, tx, u, codesDropped || tag.RowsAffected() > 0, client, now); err != nil {
		return 0, err
	}
	ev := adminEvent(p, eventAdminMFAReset, u.ID, map[string]any{"factors": len(factors)})
	ev.Severity = severityWarning
	if err := ev.record(ctx, tx, client, now); err != nil {
		return 0, err
	}
	return len(factors), nil
}

// AdminSendRecovery mails the user a recovery link (POST /recover for their address, with
// the same send limit), which signs them in to set a new password. A user without an e-mail
// address is 422 validation_failed.
func (s *Service) AdminSendRecovery(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string) error {
	u, err := adminTarget(ctx, tx, id)
	if err != nil {
		return err
	}
	if u.Email == "" {
		return unprocessable(CodeValidationFailed, "The user has no e-mail address to send a recovery link to")
	}
	if err := s.claimSend(ctx, tx, channelEmail, u.Email); err != nil {
		return err
	}
	return s.sendRecovery(ctx, tx, u, u.Email, s.allowedRedirect(""), nil, clientFrom(c))
}
