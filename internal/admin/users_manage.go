package admin

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
)

// Users is what the admin service needs of auth's user management; *auth.Service implements
// it with the code of GoTrue's admin API, so a user changed here is changed exactly as
// /auth/v1/admin/users would change them. Every change runs in the caller's transaction: the
// manager locks the user and checks that the principal may manage them first, and commits its
// audit entry with the change. Users are GoTrue's User objects in JSON; failures are
// *httpx.AppError with GoTrue's codes (user_not_found, email_exists, weak_password, …).
type Users interface {
	// AdminLockUser returns the user and locks their row until tx ends.
	AdminLockUser(ctx context.Context, tx pgx.Tx, id string) (json.RawMessage, error)
	// AdminFindUserID returns the id of the user with this e-mail address, "" for none.
	AdminFindUserID(ctx context.Context, tx pgx.Tx, email string) (string, error)
	// AdminListUsers answers {"users","total","page","per_page"} for query (page, per_page,
	// filter, sort); groups, when not nil, keeps the users in one of them.
	AdminListUsers(ctx context.Context, query url.Values, groups []string) (json.RawMessage, error)
	// AdminCreateUser and AdminUpdateUser take the bodies of POST and PUT
	// /auth/v1/admin/users, with the password policy applied.
	AdminCreateUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, body json.RawMessage) (json.RawMessage, error)
	AdminUpdateUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string, body json.RawMessage) (json.RawMessage, error)
	AdminDeleteUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string, soft bool) error
	// AdminBanUser bans for a Go duration ("24h"), or lifts the ban ("none").
	AdminBanUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id, duration string) (json.RawMessage, error)
	// AdminUnlockUser clears the sign-in lockout and returns how many records it removed.
	AdminUnlockUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string) (int64, error)
	// AdminSignOutUser ends the user's sessions and returns how many.
	AdminSignOutUser(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string) (int64, error)
	// AdminResetMFA removes the user's factors and backup codes and returns how many factors.
	AdminResetMFA(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string) (int, error)
	// AdminSendRecovery mails the user a recovery link.
	AdminSendRecovery(ctx context.Context, tx pgx.Tx, by access.Principal, c audit.Client, id string) error
}

// ResolveUser returns the id of the user named by ref: a user id, or an e-mail address.
func (m *Manager) ResolveUser(ctx context.Context, tx pgx.Tx, ref string) (string, error) {
	if isUUID(ref) {
		return strings.ToLower(ref), nil
	}
	if !strings.Contains(ref, "@") {
		return "", badRequest(CodeValidationFailed, "%q is neither a user id nor an e-mail address", ref)
	}
	id, err := m.users.AdminFindUserID(ctx, tx, ref)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", notFoundCode(CodeUserNotFound, "No user has the address %s", ref)
	}
	return id, nil
}

// ListUsers returns a page of the users p manages: everyone, or for an admin limited to user
// groups, the users in them.
func (m *Manager) ListUsers(ctx context.Context, p access.Principal, query url.Values) (json.RawMessage, error) {
	if err := mayManageUsers(p, "user.list", ""); err != nil {
		return nil, err
	}
	var groups []string
	if !p.Capabilities.AllUsers() {
		groups = append([]string{}, p.Capabilities.AssignedGroups...)
	}
	return m.users.AdminListUsers(ctx, query, groups)
}

// GetUser returns a user p manages.
func (m *Manager) GetUser(ctx context.Context, tx pgx.Tx, p access.Principal, id string) (json.RawMessage, error) {
	t, err := m.lockUser(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := mayManageUser(p, "user.read", t, false); err != nil {
		return nil, err
	}
	return t.raw, nil
}

// CreateUser creates a user from a body of POST /auth/v1/admin/users.
func (m *Manager) CreateUser(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, body json.RawMessage) (json.RawMessage, error) {
	const action = "user.create"
	if err := mayManageUsers(p, action, ""); err != nil {
		return nil, err
	}
	if err := checkUserBody(p, action, "", body, nil, true); err != nil {
		return nil, err
	}
	raw, err := m.users.AdminCreateUser(ctx, tx, p, c, body)
	if err != nil {
		return nil, err
	}
	t, err := parseTarget(raw)
	if err != nil {
		return nil, err
	}
	details := map[string]any{"email": t.Email, "fields": fieldNames(body), "groups": t.groups}
	return raw, m.auditUser(ctx, tx, p, c, action, t.ID, details)
}

// UpdateUser changes a user as PUT /auth/v1/admin/users/{id} does with body. A new password,
// address or ban of an admin ends the admin's sessions too.
func (m *Manager) UpdateUser(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, id string, body json.RawMessage) (json.RawMessage, error) {
	const action = "user.update"
	t, err := m.lockUser(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := mayManageUser(p, action, t, true); err != nil {
		return nil, err
	}
	if err := checkUserBody(p, action, t.ID, body, t.groups, false); err != nil {
		return nil, err
	}
	raw, err := m.users.AdminUpdateUser(ctx, tx, p, c, t.ID, body)
	if err != nil {
		return nil, err
	}
	fields := fieldNames(body)
	details := map[string]any{"email": t.Email, "fields": fields}
	if slices.ContainsFunc(fields, func(f string) bool {
		return f == "password" || f == "password_hash" || f == "email" || f == "phone" || f == "ban_duration"
	}) {
		if err := m.endAdminSessions(ctx, tx, t, "account credentials changed", details); err != nil {
			return nil, err
		}
	}
	return raw, m.auditUser(ctx, tx, p, c, action, t.ID, details)
}

// DeleteUser deletes a user (soft: strips the account and keeps the row). Deleting an admin
// revokes the grant; the last active system admin is never deleted.
func (m *Manager) DeleteUser(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, id string, soft bool) error {
	const action = "user.delete"
	t, err := m.lockUser(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := mayManageUser(p, action, t, true); err != nil {
		return err
	}
	details := map[string]any{"email": t.Email, "soft": soft}
	if t.adminLevel != "" {
		if err := lockAdmins(ctx, tx); err != nil {
			return err
		}
		a, err := activeAdmin(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if err := keepsASystemAdmin(ctx, tx, p, action, "user", a); err != nil {
			return err
		}
		ended, err := m.revokeGrant(ctx, tx, a)
		if err != nil {
			return err
		}
		details["admin_level"], details["admin_sessions_ended"] = string(a.Level), ended
	}
	if err := m.users.AdminDeleteUser(ctx, tx, p, c, t.ID, soft); err != nil {
		return err
	}
	return m.auditUser(ctx, tx, p, c, action, t.ID, details)
}

// BanUser bans a user for duration: a Go duration ("24h", "90m") or "forever".
func (m *Manager) BanUser(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, id, duration string) (json.RawMessage, error) {
	switch duration {
	case "":
		return nil, badRequest(CodeValidationFailed, `A ban needs a duration, such as "24h", or "forever"`)
	case "none":
		return nil, badRequest(CodeValidationFailed, "To lift a ban, unban the user")
	case "forever":
		duration = banForever
	}
	return m.ban(ctx, tx, p, c, "user.ban", id, duration)
}

// UnbanUser lifts a user's ban.
func (m *Manager) UnbanUser(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, id string) (json.RawMessage, error) {
	return m.ban(ctx, tx, p, c, "user.unban", id, "none")
}

func (m *Manager) ban(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, action, id, duration string) (json.RawMessage, error) {
	t, err := m.lockUser(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := mayManageUser(p, action, t, true); err != nil {
		return nil, err
	}
	raw, err := m.users.AdminBanUser(ctx, tx, p, c, t.ID, duration)
	if err != nil {
		return nil, err
	}
	details := map[string]any{"email": t.Email}
	if action == "user.ban" {
		details["duration"] = duration
		if err := m.endAdminSessions(ctx, tx, t, "user banned", details); err != nil {
			return nil, err
		}
	}
	return raw, m.auditUser(ctx, tx, p, c, action, t.ID, details)
}

// UnlockUser clears a user's sign-in lockout and returns how many lockout records it removed.
func (m *Manager) UnlockUser(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, id string) (int64, error) {
	const action = "user.unlock"
	t, err := m.lockUser(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if err := mayManageUser(p, action, t, true); err != nil {
		return 0, err
	}
	n, err := m.users.AdminUnlockUser(ctx, tx, p, c, t.ID)
	if err != nil {
		return 0, err
	}
	return n, m.auditUser(ctx, tx, p, c, action, t.ID, map[string]any{"email": t.Email, "records": n})
}

// SignedOut is what SignOutUser ended.
type SignedOut struct {
	Sessions      int64 `json:"sessions_ended"`
	AdminSessions int64 `json:"admin_sessions_ended"`
}

// SignOutUser ends every session of a user: their auth sessions and, for an admin, their
// admin sessions.
func (m *Manager) SignOutUser(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, id string) (SignedOut, error) {
	const action = "user.sign_out"
	t, err := m.lockUser(ctx, tx, id)
	if err != nil {
		return SignedOut{}, err
	}
	if err := mayManageUser(p, action, t, true); err != nil {
		return SignedOut{}, err
	}
	var out SignedOut
	if out.Sessions, err = m.users.AdminSignOutUser(ctx, tx, p, c, t.ID); err != nil {
		return SignedOut{}, err
	}
	if out.AdminSessions, err = m.sessions.RevokeUser(ctx, tx, t.ID, "signed out everywhere by an admin"); err != nil {
		return SignedOut{}, internalError(err)
	}
	details := map[string]any{"email": t.Email, "sessions_ended": out.Sessions, "admin_sessions_ended": out.AdminSessions}
	return out, m.auditUser(ctx, tx, p, c, action, t.ID, details)
}

// ResetMFA removes every factor and backup code of a user who lost their device, and returns
// how many factors it removed.
func (m *Manager) ResetMFA(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, id string) (int, error) {
	const action = "user.reset_mfa"
	t, err := m.lockUser(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if err := mayManageUser(p, action, t, true); err != nil {
		return 0, err
	}
	n, err := m.users.AdminResetMFA(ctx, tx, p, c, t.ID)
	if err != nil {
		return 0, err
	}
	details := map[string]any{"email": t.Email, "factors_removed": n}
	if err := m.endAdminSessions(ctx, tx, t, "second factors reset", details); err != nil {
		return 0, err
	}
	return n, m.auditUser(ctx, tx, p, c, action, t.ID, details)
}

// SendRecovery mails a user a recovery link.
func (m *Manager) SendRecovery(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, id string) error {
	const action = "user.send_recovery"
	t, err := m.lockUser(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := mayManageUser(p, action, t, true); err != nil {
		return err
	}
	if err := m.users.AdminSendRecovery(ctx, tx, p, c, t.ID); err != nil {
		return err
	}
	return m.auditUser(ctx, tx, p, c, action, t.ID, map[string]any{"email": t.Email})
}

// endAdminSessions ends an admin's sessions after a change to their account's credentials,
// and notes how many in details. Users who are no admin have none.
func (m *Manager) endAdminSessions(ctx context.Context, tx pgx.Tx, t target, reason string, details map[string]any) error {
	if t.adminLevel == "" {
		return nil
	}
	n, err := m.sessions.RevokeUser(ctx, tx, t.ID, reason)
	if err != nil {
		return internalError(err)
	}
	details["admin_sessions_ended"] = n
	return nil
}

// userSeverity is how loud each user action is in the audit log.
var userSeverity = map[string]string{
	"user.delete": audit.Warning, "user.ban": audit.Warning, "user.sign_out": audit.Warning, "user.reset_mfa": audit.Warning,
}

func (m *Manager) auditUser(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, action, id string, details map[string]any) error {
	e := audit.Entry{
		Actor: p.Actor(), Action: action, ResourceType: "user", ResourceID: id, Severity: userSeverity[action],
		Client: c, Details: details,
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return internalError(err)
	}
	return nil
}

// fieldNames lists the fields a body sets, never their values (a password stays out of the
// audit log).
func fieldNames(body json.RawMessage) []string {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields)
	out := make([]string, 0, len(fields))
	for k := range fields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
