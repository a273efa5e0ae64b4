package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
)

// NewAdmin is a grant to make: an existing user (by id or e-mail address), or a new user
// created with Password, and the level with its assignments.
type NewAdmin struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	// Password creates the user, e-mail confirmed, when no user has Email; it must meet auth's
	// password policy. An existing user keeps their password.
	Password       string       `json:"password"`
	Level          access.Level `json:"level"`
	AssignedTables []string     `json:"assigned_tables"`
	AssignedGroups []string     `json:"assigned_user_groups"`
}

// Granted is the outcome of CreateAdmin.
type Granted struct {
	Admin
	// UserCreated tells that the user did not exist and was created with the grant.
	UserCreated bool `json:"user_created"`
}

// CreateAdmin makes a user an admin within tx: p must be allowed to grant the level (strictly
// below its own; system admins only from the CLI). A revoked admin is granted again; a
// standing one is 409 admin_exists (change it with UpdateAdmin).
func (m *Manager) CreateAdmin(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, n NewAdmin) (Granted, error) {
	const action = "admin.grant"
	level, err := access.ParseLevel(string(n.Level))
	if err != nil {
		return Granted{}, badRequest(CodeValidationFailed, "%v", err)
	}
	tables, err := cleanTables(n.AssignedTables)
	if err != nil {
		return Granted{}, err
	}
	groups, err := cleanGroups(n.AssignedGroups)
	if err != nil {
		return Granted{}, err
	}
	resource := strings.ToLower(n.UserID)
	if resource == "" {
		resource = n.Email
	}
	if err := mayGrant(p, action, resource, level); err != nil {
		return Granted{}, err
	}
	userID, created, err := m.grantee(ctx, tx, p, c, n)
	if err != nil {
		return Granted{}, err
	}
	existing, err := getAdmin(ctx, tx, userID, true)
	regranted := err == nil
	switch {
	case err == nil && existing.Active():
		return Granted{}, adminExists(existing.Email, existing.Level, userID)
	case err != nil && !isCode(err, CodeAdminNotFound):
		return Granted{}, err
	}
	now := time.Now().UTC()
	via, by := grantedVia(p)
	// A grant that raced with this one (the row did not exist to lock) wins, and this one is
	// answered as if it had come second.
	tag, err := tx.Exec(ctx, `INSERT INTO goforward.admins AS a
  (user_id, level, assigned_tables, assigned_groups, granted_by, granted_via, granted_at, updated_at, revoked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL)
ON CONFLICT (user_id) DO UPDATE SET level = excluded.level, assigned_tables = excluded.assigned_tables,
  assigned_groups = excluded.assigned_groups, granted_by = excluded.granted_by, granted_via = excluded.granted_via,
  granted_at = excluded.granted_at, updated_at = excluded.updated_at, revoked_at = NULL
WHERE a.revoked_at IS NOT NULL`,
		userID, string(level), tables, groups, by, via, now)
	if err != nil {
		return Granted{}, internalError(fmt.Errorf("admin: grant: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return Granted{}, adminExists(n.Email, "", userID)
	}
	// Sessions left from an earlier grant must not come back to life with this one.
	if _, err := m.sessions.RevokeUser(ctx, tx, userID, "admin granted again"); err != nil {
		return Granted{}, internalError(err)
	}
	a, err := getAdmin(ctx, tx, userID, false)
	if err != nil {
		return Granted{}, err
	}
	e := audit.Entry{
		Actor: p.Actor(), Action: action, ResourceType: "admin", ResourceID: userID, Severity: severityOf(level), Client: c,
		Details: map[string]any{"email": a.Email, "level": string(level), "assigned_tables": tables,
			"assigned_user_groups": groups, "regranted": regranted, "user_created": created},
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return Granted{}, internalError(err)
	}
	return Granted{Admin: a, UserCreated: created}, nil
}

// grantee finds (or, with a password, creates) the user a grant is for, and locks it.
func (m *Manager) grantee(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, n NewAdmin) (string, bool, error) {
	switch {
	case n.UserID != "" && n.Email != "":
		return "", false, badRequest(CodeValidationFailed, "Name the user by user_id or by email, not both")
	case n.UserID != "":
		if n.Password != "" {
			return "", false, badRequest(CodeValidationFailed, "password only creates a new user, named by email")
		}
		t, err := m.lockUser(ctx, tx, strings.ToLower(n.UserID))
		return t.ID, false, err
	case n.Email == "":
		return "", false, badRequest(CodeValidationFailed, "Name the user to make an admin: user_id or email")
	}
	id, err := m.users.AdminFindUserID(ctx, tx, n.Email)
	if err != nil {
		return "", false, err
	}
	if id != "" {
		t, err := m.lockUser(ctx, tx, id)
		return t.ID, false, err
	}
	if n.Password == "" {
		return "", false, notFoundCode(CodeUserNotFound, "No user has the address %s: give a password to create one with the grant", n.Email).WithCause(ErrNoSuchUser)
	}
	if !p.Has(access.CanManageUsers) {
		return "", false, refuse(p, "user.create", "user", n.Email, http.StatusForbidden, CodeInsufficientCapability, ErrNotAllowed,
			"Creating a user needs the %s capability", access.CanManageUsers)
	}
	body, err := json.Marshal(map[string]any{"email": n.Email, "password": n.Password, "email_confirm": true})
	if err != nil {
		return "", false, internalError(err)
	}
	raw, err := m.users.AdminCreateUser(ctx, tx, p, c, body)
	if err != nil {
		return "", false, err
	}
	t, err := parseTarget(raw)
	if err != nil {
		return "", false, err
	}
	if err := m.auditUser(ctx, tx, p, c, "user.create", t.ID, map[string]any{"email": t.Email, "for_admin_grant": true}); err != nil {
		return "", false, err
	}
	return t.ID, true, nil
}

// AdminChange is a change to an admin: nil fields stay as they are.
type AdminChange struct {
	Level          *access.Level `json:"level"`
	AssignedTables *[]string     `json:"assigned_tables"`
	AssignedGroups *[]string     `json:"assigned_user_groups"`
}

// UpdateAdmin changes an admin's level or assignments within tx. p must outrank the admin's
// level and be allowed to grant the new one; the last active system admin is never demoted.
// A change ends the admin's sessions in the same transaction: a session carries the
// capabilities it was opened with.
func (m *Manager) UpdateAdmin(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, userID string, ch AdminChange) (Admin, error) {
	const action = "admin.update"
	if ch.Level == nil && ch.AssignedTables == nil && ch.AssignedGroups == nil {
		return Admin{}, badRequest(CodeValidationFailed, "Give level, assigned_tables or assigned_user_groups to change")
	}
	userID = strings.ToLower(userID)
	if err := lockAdmins(ctx, tx); err != nil {
		return Admin{}, err
	}
	target, err := activeAdmin(ctx, tx, userID)
	if err != nil {
		return Admin{}, err
	}
	if err := mayManageAdmin(p, action, "admin", userID, target.Level); err != nil {
		return Admin{}, err
	}
	next := target
	if ch.Level != nil {
		if next.Level, err = access.ParseLevel(string(*ch.Level)); err != nil {
			return Admin{}, badRequest(CodeValidationFailed, "%v", err)
		}
		if err := mayGrant(p, action, userID, next.Level); err != nil {
			return Admin{}, err
		}
		if next.Level != access.SystemAdmin {
			if err := keepsASystemAdmin(ctx, tx, p, action, "admin", target); err != nil {
				return Admin{}, err
			}
		}
	}
	if ch.AssignedTables != nil {
		if next.AssignedTables, err = cleanTables(*ch.AssignedTables); err != nil {
			return Admin{}, err
		}
	}
	if ch.AssignedGroups != nil {
		if next.AssignedGroups, err = cleanGroups(*ch.AssignedGroups); err != nil {
			return Admin{}, err
		}
	}
	if next.Level == target.Level && slices.Equal(next.AssignedTables, target.AssignedTables) &&
		slices.Equal(next.AssignedGroups, target.AssignedGroups) {
		return target, nil
	}
	now := time.Now().UTC()
	via, by := grantedVia(p)
	if _, err := tx.Exec(ctx, `UPDATE goforward.admins SET level = $2, assigned_tables = $3, assigned_groups = $4,
  granted_by = CASE WHEN level = $2 THEN granted_by ELSE $5 END,
  granted_via = CASE WHEN level = $2 THEN granted_via ELSE $6 END,
  granted_at = CASE WHEN level = $2 THEN granted_at ELSE $7 END, updated_at = $7
WHERE user_id = $1`, userID, string(next.Level), next.AssignedTables, next.AssignedGroups, by, via, now); err != nil {
		return Admin{}, internalError(fmt.Errorf("admin: update admin: %w", err))
	}
	ended, err := m.sessions.RevokeUser(ctx, tx, userID, "admin level or assignments changed")
	if err != nil {
		return Admin{}, internalError(err)
	}
	severity := severityOf(next.Level)
	if target.Level.Outranks(next.Level) {
		severity = audit.Warning
	}
	e := audit.Entry{
		Actor: p.Actor(), Action: action, ResourceType: "admin", ResourceID: userID, Severity: severity, Client: c,
		Details: map[string]any{"email": target.Email, "sessions_revoked": ended,
			"from": map[string]any{"level": target.Level, "assigned_tables": target.AssignedTables, "assigned_user_groups": target.AssignedGroups},
			"to":   map[string]any{"level": next.Level, "assigned_tables": next.AssignedTables, "assigned_user_groups": next.AssignedGroups}},
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return Admin{}, internalError(err)
	}
	return getAdmin(ctx, tx, userID, false)
}

// RevokeAdmin ends a grant within tx, and with it every session of the admin. p must outrank
// the admin's level; the last active system admin is never revoked. The row stays, so that
// who granted what remains on record.
func (m *Manager) RevokeAdmin(ctx context.Context, tx pgx.Tx, p access.Principal, c audit.Client, userID string) (Admin, error) {
	const action = "admin.revoke"
	userID = strings.ToLower(userID)
	if err := lockAdmins(ctx, tx); err != nil {
		return Admin{}, err
	}
	target, err := activeAdmin(ctx, tx, userID)
	if err != nil {
		return Admin{}, err
	}
	if err := mayManageAdmin(p, action, "admin", userID, target.Level); err != nil {
		return Admin{}, err
	}
	if err := keepsASystemAdmin(ctx, tx, p, action, "admin", target); err != nil {
		return Admin{}, err
	}
	ended, err := m.revokeGrant(ctx, tx, target)
	if err != nil {
		return Admin{}, err
	}
	e := audit.Entry{
		Actor: p.Actor(), Action: action, ResourceType: "admin", ResourceID: target.UserID, Severity: audit.Warning, Client: c,
		Details: map[string]any{"email": target.Email, "level": string(target.Level), "sessions_revoked": ended},
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return Admin{}, internalError(err)
	}
	return getAdmin(ctx, tx, userID, false)
}

// revokeGrant marks the grant revoked and ends the admin's sessions; it returns how many.
// The caller audits it.
func (m *Manager) revokeGrant(ctx context.Context, tx pgx.Tx, target Admin) (int64, error) {
	now := time.Now().UTC()
	if _, err := tx.Exec(ctx, `UPDATE goforward.admins SET revoked_at = $2, updated_at = $2 WHERE user_id = $1`, target.UserID, now); err != nil {
		return 0, internalError(fmt.Errorf("admin: revoke admin: %w", err))
	}
	ended, err := m.sessions.RevokeUser(ctx, tx, target.UserID, "admin revoked")
	if err != nil {
		return 0, internalError(err)
	}
	return ended, nil
}

// activeAdmin reads and locks a standing grant: 404 admin_not_found for a user who is not
// (or no longer) an admin.
func activeAdmin(ctx context.Context, tx pgx.Tx, userID string) (Admin, error) {
	a, err := getAdmin(ctx, tx, userID, true)
	if err != nil {
		return Admin{}, err
	}
	if !a.Active() {
		return Admin{}, notFoundCode(CodeAdminNotFound, "%s is no longer an admin (revoked %s)", a.Email, a.RevokedAt.Format(time.RFC3339))
	}
	return a, nil
}

func adminExists(email string, level access.Level, userID string) error {
	who := email
	if who == "" {
		who = userID
	}
	what := "an admin"
	if level != "" {
		what = "a " + string(level)
	}
	return apiError(http.StatusConflict, CodeAdminExists,
		"%s is already %s: change it with PATCH /admin/v1/admins/%s (goforward admin set-level)", who, what, userID)
}
