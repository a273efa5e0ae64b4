package admin

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
)

// TestGrantingIsStrictlyBelowOwnLevel: every caller grants every level through POST /admins,
// and only levels strictly below its own pass; system admins are never made over HTTP.
func TestGrantingIsStrictlyBelowOwnLevel(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	callers := map[string]string{
		"system_admin":  e.signIn(t, e.admin(t, "system", access.SystemAdmin)),
		"super_admin":   e.signIn(t, e.admin(t, "super", access.SuperAdmin)),
		"regular_admin": e.signIn(t, e.admin(t, "regular", access.RegularAdmin)),
		"moderator":     e.signIn(t, e.admin(t, "moderator", access.Moderator)),
		"service_role":  e.ServiceRoleKey(),
	}
	// The answer each caller gets for each level: 201, or the refusal's code.
	want := map[string]map[access.Level]string{
		"system_admin":  {access.SystemAdmin: CodeCannotGrant, access.SuperAdmin: "", access.RegularAdmin: "", access.Moderator: ""},
		"service_role":  {access.SystemAdmin: CodeCannotGrant, access.SuperAdmin: "", access.RegularAdmin: "", access.Moderator: ""},
		"super_admin":   {access.SystemAdmin: CodeCannotGrant, access.SuperAdmin: CodeCannotGrant, access.RegularAdmin: "", access.Moderator: ""},
		"regular_admin": {access.SystemAdmin: CodeInsufficientCapability, access.SuperAdmin: CodeInsufficientCapability, access.RegularAdmin: CodeInsufficientCapability, access.Moderator: CodeInsufficientCapability},
		"moderator":     {access.SystemAdmin: CodeInsufficientCapability, access.SuperAdmin: CodeInsufficientCapability, access.RegularAdmin: CodeInsufficientCapability, access.Moderator: CodeInsufficientCapability},
	}
	for caller, token := range callers {
		for _, level := range access.Levels {
			grantee := e.user(t, caller+"-grants-"+string(level))
			status, body := e.call(t, token, "POST", "/admins", map[string]any{"user_id": grantee, "level": level})
			if code := want[caller][level]; code != "" {
				requireCode(t, status, body, http.StatusForbidden, code)
				require.Empty(t, e.level(t, grantee), "%s granted %s", caller, level)
				continue
			}
			require.Equal(t, http.StatusCreated, status, "%s grants %s: %v", caller, level, body)
			require.Equal(t, string(level), body["level"])
			require.Equal(t, grantee, body["user_id"])
			require.Equal(t, level, e.level(t, grantee))
		}
	}

	// The command line is the one place system admins come from.
	grantee := e.user(t, "cli-grants-system")
	err := e.inTx(t, func(tx pgx.Tx) error {
		_, err := e.svc.manage.CreateAdmin(context.Background(), tx, access.CLI(), audit.Client{}, NewAdmin{UserID: grantee, Level: access.SystemAdmin})
		return err
	})
	require.NoError(t, err)
	require.Equal(t, access.SystemAdmin, e.level(t, grantee))
	rows := e.auditRows(t, "admin.grant")
	require.Equal(t, audit.Critical, rows[len(rows)-1].Severity)
	require.Equal(t, "cli", rows[len(rows)-1].ActorType)
}

// TestChangingAnAdminNeedsAHigherLevel: PATCH and DELETE /admins/{id} need a level that could
// have granted the admin's level, and the new level must be grantable too.
func TestChangingAnAdminNeedsAHigherLevel(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	system := e.signIn(t, e.admin(t, "system", access.SystemAdmin))
	superID := e.admin(t, "super", access.SuperAdmin)
	super := e.signIn(t, superID)
	otherSuper := e.admin(t, "other-super", access.SuperAdmin)
	regular := e.admin(t, "regular", access.RegularAdmin)
	otherSystem := e.admin(t, "other-system", access.SystemAdmin)

	status, body := e.call(t, super, "PATCH", "/admins/"+otherSuper, map[string]any{"level": "moderator"})
	requireCode(t, status, body, http.StatusForbidden, CodeCannotManageAdmin)
	status, body = e.call(t, super, "DELETE", "/admins/"+otherSuper, nil)
	requireCode(t, status, body, http.StatusForbidden, CodeCannotManageAdmin)
	status, body = e.call(t, super, "PATCH", "/admins/"+superID, map[string]any{"level": "regular_admin"})
	requireCode(t, status, body, http.StatusForbidden, CodeCannotManageAdmin)
	status, body = e.call(t, super, "PATCH", "/admins/"+regular, map[string]any{"level": "super_admin"})
	requireCode(t, status, body, http.StatusForbidden, CodeCannotGrant)
	require.Equal(t, access.RegularAdmin, e.level(t, regular))

	status, body = e.call(t, super, "PATCH", "/admins/"+regular, map[string]any{"level": "moderator", "assigned_user_groups": []string{"staff", "staff", "help"}})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "moderator", body["level"])
	require.Equal(t, []any{"help", "staff"}, body["assigned_user_groups"])

	status, body = e.call(t, system, "PATCH", "/admins/"+otherSystem, map[string]any{"level": "super_admin"})
	requireCode(t, status, body, http.StatusForbidden, CodeCannotManageAdmin)
	status, body = e.call(t, system, "PATCH", "/admins/"+otherSuper, map[string]any{"level": "system_admin"})
	requireCode(t, status, body, http.StatusForbidden, CodeCannotGrant)
	status, body = e.call(t, system, "PATCH", "/admins/"+otherSuper, map[string]any{"level": "regular_admin"})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, access.RegularAdmin, e.level(t, otherSuper))

	status, body = e.call(t, system, "DELETE", "/admins/"+otherSuper, nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.NotEmpty(t, body["revoked_at"])
	require.Nil(t, body["capabilities"])
	require.Empty(t, e.level(t, otherSuper))
	status, body = e.call(t, system, "DELETE", "/admins/"+otherSuper, nil)
	requireCode(t, status, body, http.StatusNotFound, CodeAdminNotFound)

	// The refusals are on record, the successes too.
	denied := 0
	for _, row := range append(e.auditRows(t, "admin.update"), e.auditRows(t, "admin.revoke")...) {
		if row.Outcome == audit.Denied {
			denied++
		}
	}
	require.Equal(t, 6, denied)
}

// TestChangingOrRevokingAnAdminEndsItsSessions: the sessions end in the transaction of the
// change; a refused change leaves them alone.
func TestChangingOrRevokingAnAdminEndsItsSessions(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	super := e.signIn(t, e.admin(t, "super", access.SuperAdmin))
	regular := e.admin(t, "regular", access.RegularAdmin, "staff")
	first, second := e.signIn(t, regular), e.signIn(t, regular)
	require.True(t, e.sessionWorks(t, first))

	status, body := e.call(t, super, "PATCH", "/admins/"+regular, map[string]any{"level": "super_admin"})
	requireCode(t, status, body, http.StatusForbidden, CodeCannotGrant)
	require.True(t, e.sessionWorks(t, first))

	// Narrowing the groups matters as much as the level: a session keeps what it opened with.
	status, body = e.call(t, super, "PATCH", "/admins/"+regular, map[string]any{"assigned_user_groups": []string{}})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.False(t, e.sessionWorks(t, first))
	require.False(t, e.sessionWorks(t, second))
	rows := e.auditRows(t, "admin.update")
	last := rows[len(rows)-1]
	require.Equal(t, audit.Success, last.Outcome)
	require.EqualValues(t, 2, last.Details["sessions_revoked"])

	// Nothing to change: nothing ends.
	third := e.signIn(t, regular)
	status, _ = e.call(t, super, "PATCH", "/admins/"+regular, map[string]any{"level": "regular_admin"})
	require.Equal(t, http.StatusOK, status)
	require.True(t, e.sessionWorks(t, third))

	status, body = e.call(t, super, "DELETE", "/admins/"+regular, nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.False(t, e.sessionWorks(t, third))
	revoked := e.auditRows(t, "admin.revoke")
	require.Len(t, revoked, 1)
	require.EqualValues(t, 1, revoked[0].Details["sessions_revoked"])
	require.Equal(t, "admin", revoked[0].ActorType)

	// Granted again, the old sessions stay dead.
	status, body = e.call(t, super, "POST", "/admins", map[string]any{"user_id": regular, "level": "moderator"})
	require.Equal(t, http.StatusCreated, status, "body: %v", body)
	require.False(t, e.sessionWorks(t, third))
	require.Equal(t, true, e.auditRows(t, "admin.grant")[0].Details["regranted"])
}

// TestGrantValidation: malformed grants are 400, an unknown user 404, a standing admin 409.
func TestGrantValidation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	key := e.ServiceRoleKey()
	user := e.user(t, "user")
	for _, body := range []map[string]any{
		{"user_id": user, "level": "root"},
		{"user_id": user, "level": "regular_admin", "assigned_tables": []string{"posts"}},
		{"user_id": user, "level": "regular_admin", "assigned_tables": []string{`public."posts"`}},
		{"user_id": user, "level": "regular_admin", "assigned_user_groups": []string{" "}},
		{"level": "regular_admin"},
		{"user_id": user, "email": "x@example.com", "level": "regular_admin"},
	} {
		status, answer := e.call(t, key, "POST", "/admins", body)
		requireCode(t, status, answer, http.StatusBadRequest, CodeValidationFailed)
	}
	status, answer := e.call(t, key, "POST", "/admins", map[string]any{"user_id": "3f1c3a4e-0000-4000-8000-000000000000", "level": "moderator"})
	requireCode(t, status, answer, http.StatusNotFound, CodeUserNotFound)
	status, answer = e.call(t, key, "POST", "/admins", map[string]any{"email": "nobody@example.com", "level": "moderator"})
	requireCode(t, status, answer, http.StatusNotFound, CodeUserNotFound)

	status, answer = e.call(t, key, "POST", "/admins", map[string]any{"email": emailFor(t, "user"), "level": "regular_admin",
		"assigned_tables": []string{"public.posts", "public.posts"}})
	require.Equal(t, http.StatusCreated, status, "body: %v", answer)
	require.Equal(t, []any{"public.posts"}, answer["assigned_tables"])
	require.Equal(t, "service_role", answer["granted_via"])
	status, answer = e.call(t, key, "POST", "/admins", map[string]any{"user_id": user, "level": "moderator"})
	requireCode(t, status, answer, http.StatusConflict, CodeAdminExists)

	status, answer = e.call(t, key, "GET", "/admins/"+user, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, emailFor(t, "user"), answer["email"])
	caps := answer["capabilities"].(map[string]any)
	require.Equal(t, true, caps["can_manage_users"])
	require.Equal(t, false, caps["can_create_admins"])
	status, answer = e.call(t, key, "GET", "/admins/not-an-id", nil)
	requireCode(t, status, answer, http.StatusNotFound, CodeAdminNotFound)

	status, answer = e.call(t, key, "GET", "/admins", nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, answer["admins"], 1)
}

// TestCreateAdminCreatesTheUser: with a password, a grant for an unknown address creates the
// user in the same transaction; a refused grant creates nobody.
func TestCreateAdminCreatesTheUser(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	email := emailFor(t, "new")
	create := func(p access.Principal, n NewAdmin) (Granted, error) {
		var g Granted
		err := e.inTx(t, func(tx pgx.Tx) (err error) {
			g, err = e.svc.manage.CreateAdmin(context.Background(), tx, p, audit.Client{}, n)
			return err
		})
		return g, err
	}
	super := access.Principal{Kind: access.KindAdmin, UserID: e.admin(t, "super", access.SuperAdmin), Level: access.SuperAdmin,
		Capabilities: access.For(access.SuperAdmin, nil, nil)}
	_, err := create(super, NewAdmin{Email: email, Password: "long-enough-1", Level: access.SuperAdmin})
	require.ErrorIs(t, err, ErrCannotGrant)
	_, err = create(access.CLI(), NewAdmin{Email: email, Password: "weak", Level: access.SystemAdmin})
	require.True(t, isCode(err, "weak_password"), "%v", err)
	var n int
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM auth.users WHERE email = $1`, email).Scan(&n))
	require.Zero(t, n)

	g, err := create(access.CLI(), NewAdmin{Email: email, Password: "long-enough-1", Level: access.SystemAdmin})
	require.NoError(t, err)
	require.True(t, g.UserCreated)
	require.Equal(t, email, g.Email)
	require.Equal(t, access.SystemAdmin, e.level(t, g.UserID))
	require.Contains(t, e.users.called(), "create "+email+" by cli")
	created := e.auditRows(t, "user.create")
	require.Len(t, created, 1)
	require.Equal(t, g.UserID, created[0].ResourceID)

	// The user exists now: the same command grants without creating.
	_, err = create(access.CLI(), NewAdmin{Email: email, Level: access.SystemAdmin})
	require.True(t, isCode(err, CodeAdminExists), "%v", err)
}

// TestLastSystemAdminStays: the last active system admin is neither demoted nor revoked, even
// from the command line, and the refusal is audited; with another one it may go.
func TestLastSystemAdminStays(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	only := e.admin(t, "only", access.SystemAdmin)
	ctx := context.Background()
	change := func(id string, l access.Level) error {
		return e.inTx(t, func(tx pgx.Tx) error {
			_, err := e.svc.manage.UpdateAdmin(ctx, tx, access.CLI(), audit.Client{}, id, AdminChange{Level: &l})
			return err
		})
	}
	revoke := func(id string) error {
		return e.inTx(t, func(tx pgx.Tx) error {
			_, err := e.svc.manage.RevokeAdmin(ctx, tx, access.CLI(), audit.Client{}, id)
			return err
		})
	}
	token := e.signIn(t, only)
	require.ErrorIs(t, change(only, access.SuperAdmin), ErrLastSystemAdmin)
	require.ErrorIs(t, revoke(only), ErrLastSystemAdmin)
	require.True(t, isCode(revoke(only), CodeLastSystemAdmin))
	require.Equal(t, access.SystemAdmin, e.level(t, only))
	require.True(t, e.sessionWorks(t, token), "a refused change ends no session")
	denied := e.auditRows(t, "admin.revoke")
	require.Len(t, denied, 2)
	require.Equal(t, audit.Denied, denied[0].Outcome)
	require.Equal(t, CodeLastSystemAdmin, denied[0].Details["code"])

	// Assignments of the last system admin may change; its level may not.
	tables := []string{"public.posts"}
	require.NoError(t, e.inTx(t, func(tx pgx.Tx) error {
		_, err := e.svc.manage.UpdateAdmin(ctx, tx, access.CLI(), audit.Client{}, only, AdminChange{AssignedTables: &tables})
		return err
	}))

	second := e.admin(t, "second", access.SystemAdmin)
	require.NoError(t, change(only, access.SuperAdmin))
	require.ErrorIs(t, revoke(second), ErrLastSystemAdmin)
	require.Equal(t, access.SystemAdmin, e.level(t, second))
}

// TestConcurrentDemotionsKeepASystemAdmin: of two system admins demoted at once, one change
// waits for the other and is then refused. The second transaction starts while the first
// holds its change uncommitted, so the check cannot have read before the first one's write.
func TestConcurrentDemotionsKeepASystemAdmin(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	a, b := e.admin(t, "a", access.SystemAdmin), e.admin(t, "b", access.SystemAdmin)
	super := access.SuperAdmin
	demote := func(tx pgx.Tx, id string) error {
		_, err := e.svc.manage.UpdateAdmin(ctx, tx, access.CLI(), audit.Client{}, id, AdminChange{Level: &super})
		return err
	}

	first, err := e.DB.Pool.Begin(ctx)
	require.NoError(t, err)
	defer first.Rollback(ctx)
	require.NoError(t, demote(first, a))

	second := make(chan error, 1)
	var secondPID uint32
	conn, err := e.DB.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	secondPID = conn.Conn().PgConn().PID()
	go func() {
		second <- pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return demote(tx, b) })
	}()
	// Wait until the second demotion blocks on the first one's lock (or, were it not to
	// wait, finishes).
	var secondErr error
	secondDone := false
	require.Eventually(t, func() bool {
		select {
		case secondErr = <-second:
			secondDone = true
			return true
		default:
		}
		var waiting bool
		err := e.DB.Pool.QueryRow(ctx, `SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1`, secondPID).Scan(&waiting)
		return err == nil && waiting
	}, defaultWait, pollEvery)
	require.NoError(t, first.Commit(ctx))
	if !secondDone {
		secondErr = <-second
	}
	require.ErrorIs(t, secondErr, ErrLastSystemAdmin)

	require.Equal(t, access.SuperAdmin, e.level(t, a))
	require.Equal(t, access.SystemAdmin, e.level(t, b))
}

// TestRacingDemotionsKeepASystemAdmin runs the two demotions truly at once, many times.
func TestRacingDemotionsKeepASystemAdmin(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	super := access.SuperAdmin
	for round := range 20 {
		ids := []string{e.admin(t, "a"+string(rune('a'+round)), access.SystemAdmin), e.admin(t, "b"+string(rune('a'+round)), access.SystemAdmin)}
		start := make(chan struct{})
		results := make(chan error, 2)
		for _, id := range ids {
			go func() {
				<-start
				results <- e.svc.manage.InTx(ctx, audit.Client{}, func(tx pgx.Tx) error {
					_, err := e.svc.manage.UpdateAdmin(ctx, tx, access.CLI(), audit.Client{}, id, AdminChange{Level: &super})
					return err
				})
			}()
		}
		close(start)
		errs := []error{<-results, <-results}
		var active int
		require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM goforward.admins WHERE level = 'system_admin' AND revoked_at IS NULL`).Scan(&active))
		require.Equal(t, 1, active, "round %d: %v", round, errs)
		refused := 0
		for _, err := range errs {
			if errors.Is(err, ErrLastSystemAdmin) {
				refused++
			} else {
				require.NoError(t, err)
			}
		}
		require.Equal(t, 1, refused, "round %d", round)
		// Leave no system admin of this round, so the next round's pair is the whole set.
		// (session_replication_role keeps the database's own guard out of the way.)
		require.NoError(t, pgx.BeginFunc(ctx, e.DB.Pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica;
UPDATE goforward.admins SET revoked_at = now() WHERE revoked_at IS NULL`)
			return err
		}))
	}
}

// TestTheDatabaseKeepsASystemAdmin: deleting the last system admin's user (GoTrue's admin API
// or SQL) or demoting it in SQL fails in the database itself.
func TestTheDatabaseKeepsASystemAdmin(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	only := e.admin(t, "only", access.SystemAdmin)
	_, err := e.DB.Pool.Exec(ctx, `DELETE FROM auth.users WHERE id = $1`, only)
	require.ErrorContains(t, err, "the last active system admin cannot be demoted, revoked or deleted")
	_, err = e.DB.Pool.Exec(ctx, `UPDATE goforward.admins SET level = 'super_admin' WHERE user_id = $1`, only)
	require.ErrorContains(t, err, "last active system admin")
	_, err = e.DB.Pool.Exec(ctx, `UPDATE goforward.admins SET revoked_at = now() WHERE user_id = $1`, only)
	require.ErrorContains(t, err, "last active system admin")
	require.Equal(t, access.SystemAdmin, e.level(t, only))

	other := e.admin(t, "other", access.SystemAdmin)
	_, err = e.DB.Pool.Exec(ctx, `DELETE FROM auth.users WHERE id = $1`, only)
	require.NoError(t, err)
	_, err = e.DB.Pool.Exec(ctx, `UPDATE goforward.admins SET assigned_tables = '{public.posts}' WHERE user_id = $1`, other)
	require.NoError(t, err, "changing what the last one is assigned is fine")
}

// TestAdminChangesCommitWithTheirAuditEntry: when the audit entry cannot be written, the
// change it records does not happen either.
func TestAdminChangesCommitWithTheirAuditEntry(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	key := e.ServiceRoleKey()
	user := e.user(t, "user")
	_, err := e.DB.Pool.Exec(ctx, `CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$;
CREATE TRIGGER refuse_grants BEFORE INSERT ON goforward.audit_log FOR EACH ROW
  WHEN (NEW.action IN ('admin.grant', 'admin.revoke')) EXECUTE FUNCTION test_refuse_audit()`)
	require.NoError(t, err)

	status, body := e.call(t, key, "POST", "/admins", map[string]any{"user_id": user, "level": "moderator"})
	requireCode(t, status, body, http.StatusInternalServerError, CodeUnexpectedFailure)
	require.Empty(t, e.level(t, user))

	regular := e.admin(t, "regular", access.RegularAdmin)
	token := e.signIn(t, regular)
	status, _ = e.call(t, key, "DELETE", "/admins/"+regular, nil)
	require.Equal(t, http.StatusInternalServerError, status)
	require.Equal(t, access.RegularAdmin, e.level(t, regular))
	require.True(t, e.sessionWorks(t, token), "the sessions' end rolled back with the revocation")

	_, err = e.DB.Pool.Exec(ctx, `DROP TRIGGER refuse_grants ON goforward.audit_log`)
	require.NoError(t, err)
	status, _ = e.call(t, key, "POST", "/admins", map[string]any{"user_id": user, "level": "moderator"})
	require.Equal(t, http.StatusCreated, status)
	rows := e.auditRows(t, "admin.grant")
	require.Len(t, rows, 1)
	require.Equal(t, audit.Success, rows[0].Outcome)
	require.Equal(t, "service_role", rows[0].ActorType)
	require.Equal(t, "admin", rows[0].ResourceType)
	require.Equal(t, user, rows[0].ResourceID)
	require.Equal(t, "moderator", rows[0].Details["level"])
	require.True(t, e.sameTransaction(t, `SELECT xmin FROM goforward.admins WHERE user_id = $1`, user, "admin.grant"),
		"the entry was written by the transaction that granted")
}

// sameTransaction reports whether the row rowSQL reads (with arg) and the newest audit entry
// of action were written by one transaction.
func (e *testEnv) sameTransaction(t *testing.T, rowSQL, arg, action string) bool {
	t.Helper()
	ctx := context.Background()
	var rowXID, entryXID string
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT (`+rowSQL+`)::text`, arg).Scan(&rowXID))
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT xmin::text FROM goforward.audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1`,
		action).Scan(&entryXID))
	return rowXID == entryXID
}
