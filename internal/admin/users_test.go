package admin

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
)

// TestRegularAdminsReachOnlyTheirGroups: a regular admin lists, reads and changes only users
// in one of its groups, creates users only inside them, and moves users only between them.
func TestRegularAdminsReachOnlyTheirGroups(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	regular := e.signIn(t, e.admin(t, "regular", access.RegularAdmin, "staff", "support"))
	inside := e.user(t, "inside", "staff", "finance")
	outside := e.user(t, "outside", "finance")
	e.user(t, "nogroup")

	status, body := e.call(t, regular, "GET", "/users", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.EqualValues(t, 1, body["total"])
	require.Equal(t, inside, body["users"].([]any)[0].(map[string]any)["id"])
	require.Contains(t, e.users.called(), "list staff,support")

	status, body = e.call(t, regular, "GET", "/users/"+inside, nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	for _, call := range []struct{ method, path string }{
		{"GET", "/users/" + outside}, {"PATCH", "/users/" + outside}, {"DELETE", "/users/" + outside},
		{"POST", "/users/" + outside + "/ban"}, {"POST", "/users/" + outside + "/unban"}, {"POST", "/users/" + outside + "/unlock"},
		{"POST", "/users/" + outside + "/logout"}, {"POST", "/users/" + outside + "/reset_mfa"}, {"POST", "/users/" + outside + "/recover"},
	} {
		var reqBody any
		if call.method == "PATCH" || call.path == "/users/"+outside+"/ban" {
			reqBody = map[string]any{"duration": "1h", "user_metadata": map[string]any{"x": 1}}
		}
		status, body = e.call(t, regular, call.method, call.path, reqBody)
		requireCode(t, status, body, http.StatusForbidden, CodeUserOutsideGroups)
	}
	require.Len(t, e.auditRows(t, "user.ban"), 1, "the refusal is on record")
	require.Equal(t, audit.Denied, e.auditRows(t, "user.ban")[0].Outcome)

	// Groups: only the admin's own may be added or removed; finance stays.
	status, body = e.call(t, regular, "PATCH", "/users/"+inside, map[string]any{"app_metadata": map[string]any{"groups": []string{"staff"}}})
	requireCode(t, status, body, http.StatusForbidden, CodeUserOutsideGroups)
	status, body = e.call(t, regular, "PATCH", "/users/"+inside, map[string]any{"app_metadata": map[string]any{"groups": []string{"finance", "staff", "admins"}}})
	requireCode(t, status, body, http.StatusForbidden, CodeUserOutsideGroups)
	status, body = e.call(t, regular, "PATCH", "/users/"+inside, map[string]any{"app_metadata": map[string]any{"groups": []string{"finance", "support"}}})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, []any{"finance", "support"}, body["app_metadata"].(map[string]any)["groups"])

	// Only groups: the rest of app_metadata and the role are beyond a regular admin.
	status, body = e.call(t, regular, "PATCH", "/users/"+inside, map[string]any{"app_metadata": map[string]any{"plan": "pro"}})
	requireCode(t, status, body, http.StatusForbidden, CodeInsufficientCapability)
	status, body = e.call(t, regular, "PATCH", "/users/"+inside, map[string]any{"role": "service_role"})
	requireCode(t, status, body, http.StatusForbidden, CodeInsufficientCapability)
	status, body = e.call(t, regular, "PATCH", "/users/"+inside, map[string]any{"password_hash": "$2a$10$abcdefghijklmnopqrstuv"})
	requireCode(t, status, body, http.StatusForbidden, CodeInsufficientCapability)

	status, body = e.call(t, regular, "POST", "/users", map[string]any{"email": emailFor(t, "new"), "password": "long-enough-1"})
	requireCode(t, status, body, http.StatusForbidden, CodeUserOutsideGroups)
	status, body = e.call(t, regular, "POST", "/users", map[string]any{"email": emailFor(t, "new"), "app_metadata": map[string]any{"groups": []string{"finance"}}})
	requireCode(t, status, body, http.StatusForbidden, CodeUserOutsideGroups)
	status, body = e.call(t, regular, "POST", "/users", map[string]any{"email": emailFor(t, "new"), "app_metadata": map[string]any{"groups": []string{"staff"}}})
	require.Equal(t, http.StatusCreated, status, "body: %v", body)
	created := e.auditRows(t, "user.create")
	require.Len(t, created, 3)
	require.Equal(t, audit.Denied, created[0].Outcome)
	require.Equal(t, audit.Denied, created[1].Outcome)
	require.Equal(t, audit.Success, created[2].Outcome)
	require.Equal(t, body["id"], created[2].ResourceID)
	require.Equal(t, "admin", created[2].ActorType)
}

// TestRoleNeedsDatabaseManagement: a user's role is the database role of their requests
// (service_role makes their tokens the service-role key), so super admins may not set it; the
// service role and system admins may.
func TestRoleNeedsDatabaseManagement(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	user := e.user(t, "user")
	super := e.signIn(t, e.admin(t, "super", access.SuperAdmin))
	system := e.signIn(t, e.admin(t, "system", access.SystemAdmin))
	status, body := e.call(t, super, "PATCH", "/users/"+user, map[string]any{"role": "service_role"})
	requireCode(t, status, body, http.StatusForbidden, CodeInsufficientCapability)
	status, body = e.call(t, super, "POST", "/users", map[string]any{"email": emailFor(t, "new"), "role": "service_role"})
	requireCode(t, status, body, http.StatusForbidden, CodeInsufficientCapability)
	status, body = e.call(t, super, "PATCH", "/users/"+user, map[string]any{"app_metadata": map[string]any{"plan": "pro"}, "role": ""})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	for _, token := range []string{system, e.ServiceRoleKey()} {
		status, body = e.call(t, token, "PATCH", "/users/"+user, map[string]any{"role": "editor"})
		require.Equal(t, http.StatusOK, status, "body: %v", body)
	}
}

// TestAdminAccountsNeedAHigherLevel: the account of an admin (whose password, once reset,
// signs someone in as that admin) is managed only by a level that could have granted it.
func TestAdminAccountsNeedAHigherLevel(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	super := e.signIn(t, e.admin(t, "super", access.SuperAdmin))
	otherSuper := e.admin(t, "other-super", access.SuperAdmin)
	system := e.admin(t, "system", access.SystemAdmin)
	regular := e.admin(t, "regular", access.RegularAdmin)
	regularToken := e.signIn(t, regular)

	for _, id := range []string{otherSuper, system} {
		for _, call := range []struct{ method, path string }{
			{"PATCH", "/users/" + id}, {"DELETE", "/users/" + id}, {"POST", "/users/" + id + "/ban"},
			{"POST", "/users/" + id + "/logout"}, {"POST", "/users/" + id + "/reset_mfa"}, {"POST", "/users/" + id + "/recover"},
		} {
			status, body := e.call(t, super, call.method, call.path, map[string]any{"duration": "1h", "password": "new-password-1"})
			requireCode(t, status, body, http.StatusForbidden, CodeCannotManageAdmin)
		}
		status, _ := e.call(t, super, "GET", "/users/"+id, nil)
		require.Equal(t, http.StatusOK, status, "reading an admin's account is fine")
	}
	require.NotContains(t, e.users.called(), "recover "+system)

	// A regular admin's account is the super admin's to manage; a ban ends its admin sessions.
	status, body := e.call(t, super, "POST", "/users/"+regular+"/ban", map[string]any{"duration": "forever"})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.NotEmpty(t, body["banned_until"])
	require.Contains(t, e.users.called(), "ban "+regular+" "+banForever)
	require.False(t, e.sessionWorks(t, regularToken))
	bans := e.auditRows(t, "user.ban")
	require.Equal(t, audit.Success, bans[len(bans)-1].Outcome)
	require.EqualValues(t, 1, bans[len(bans)-1].Details["admin_sessions_ended"])
	require.True(t, e.sameTransaction(t, `SELECT xmin FROM auth.users WHERE id = $1`, regular, "user.ban"),
		"the entry was written by the transaction that banned")

	status, body = e.call(t, super, "POST", "/users/"+regular+"/ban", map[string]any{"duration": "none"})
	requireCode(t, status, body, http.StatusBadRequest, CodeValidationFailed)
	status, body = e.call(t, super, "POST", "/users/"+regular+"/unban", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Nil(t, body["banned_until"])
}

// TestUserActionsAreAudited: every action reaches auth and leaves one entry; signing out
// everywhere ends admin sessions too.
func TestUserActionsAreAudited(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	key := e.ServiceRoleKey()
	target := e.admin(t, "target", access.Moderator)
	token := e.signIn(t, target)
	for _, c := range []struct {
		path, action string
		want         map[string]any
	}{
		{"/unlock", "user.unlock", map[string]any{"records_cleared": float64(2)}},
		{"/recover", "user.send_recovery", map[string]any{}},
		{"/reset_mfa", "user.reset_mfa", map[string]any{"factors_removed": float64(1)}},
		{"/logout", "user.sign_out", map[string]any{"sessions_ended": float64(3), "admin_sessions_ended": float64(0)}},
	} {
		status, body := e.call(t, key, "POST", "/users/"+target+c.path, nil)
		require.Equal(t, http.StatusOK, status, "%s: %v", c.path, body)
		require.Equal(t, c.want, body, c.path)
		rows := e.auditRows(t, c.action)
		require.Len(t, rows, 1, c.action)
		require.Equal(t, target, rows[0].ResourceID)
		require.Equal(t, "service_role", rows[0].ActorType)
		require.Equal(t, emailFor(t, "target"), rows[0].Details["email"])
	}
	// reset_mfa ended the session opened before it; sign-out ends a new one too.
	require.False(t, e.sessionWorks(t, token))
	token = e.signIn(t, target)
	status, body := e.call(t, key, "POST", "/users/"+target+"/logout", nil)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 1, body["admin_sessions_ended"])
	require.False(t, e.sessionWorks(t, token))

	status, body = e.call(t, key, "PATCH", "/users/"+target, map[string]any{"password": "a-new-password-1", "user_metadata": map[string]any{"a": 1}})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	updated := e.auditRows(t, "user.update")
	require.Equal(t, []any{"password", "user_metadata"}, updated[0].Details["fields"])
	require.NotContains(t, updated[0].Details, "password", "no password in the log")

	status, body = e.call(t, key, "POST", "/users/not-a-user/unlock", nil)
	requireCode(t, status, body, http.StatusNotFound, CodeUserNotFound)
	status, body = e.call(t, key, "PATCH", "/users/"+target, []int{1})
	requireCode(t, status, body, http.StatusBadRequest, "bad_json")
}

// TestDeletingAnAdminsAccount: deleting an admin's user ends the grant and its sessions, in
// one transaction with the entry; the last system admin's account is never deleted.
func TestDeletingAnAdminsAccount(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	key := e.ServiceRoleKey()
	regular := e.admin(t, "regular", access.RegularAdmin)
	token := e.signIn(t, regular)
	status, body := e.call(t, key, "DELETE", "/users/"+regular+"?soft=true", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Empty(t, e.level(t, regular))
	require.False(t, e.sessionWorks(t, token))
	deleted := e.auditRows(t, "user.delete")
	require.Len(t, deleted, 1)
	require.Equal(t, "regular_admin", deleted[0].Details["admin_level"])
	require.Equal(t, true, deleted[0].Details["soft"])

	moderator := e.admin(t, "moderator", access.Moderator)
	status, _ = e.call(t, key, "DELETE", "/users/"+moderator, nil)
	require.Equal(t, http.StatusOK, status)
	var n int
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM auth.users WHERE id = $1`, moderator).Scan(&n))
	require.Zero(t, n)

	only := e.admin(t, "only", access.SystemAdmin)
	err := e.inTx(t, func(tx pgx.Tx) error {
		return e.svc.manage.DeleteUser(ctx, tx, access.CLI(), audit.Client{}, only, false)
	})
	require.ErrorIs(t, err, ErrLastSystemAdmin)
	require.Equal(t, access.SystemAdmin, e.level(t, only))
	status, body = e.call(t, key, "DELETE", "/users/"+only, nil)
	requireCode(t, status, body, http.StatusForbidden, CodeCannotManageAdmin)
}
