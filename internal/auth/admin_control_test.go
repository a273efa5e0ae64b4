package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/servicetest"
)

// The methods the admin service (/admin/v1) and the CLI manage users through, tested here on
// what a user then sees from /auth/v1.

// adminTx runs fn in a transaction, as the admin service does, and decodes a JSON answer.
func (e *env) adminTx(t *testing.T, fn func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error)) (map[string]any, error) {
	t.Helper()
	ctx := context.Background()
	var raw json.RawMessage
	err := pgx.BeginFunc(ctx, e.DB.Pool, func(tx pgx.Tx) (err error) {
		raw, err = fn(ctx, tx)
		return err
	})
	if err != nil || raw == nil {
		return nil, err
	}
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out, nil
}

// requireAppError checks the failure the admin service renders.
func requireAppError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var appErr *httpx.AppError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, status, appErr.Status, "%v", appErr)
	require.Equal(t, code, appErr.Code, "%v", appErr)
}

var cli = access.CLI()

func TestAdminControlCreatesAndUpdatesUsersAsTheAdminAPIDoes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.PasswordMinLength = 10 }))
	email := emailFor(t, "new")
	client := audit.Client{UserAgent: "goforward-cli"}
	create := func(body string) (map[string]any, error) {
		return e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
			return e.svc.AdminCreateUser(ctx, tx, cli, client, json.RawMessage(body))
		})
	}
	// Unlike GoTrue's own createUser, the policy applies to new users too.
	_, err := create(`{"email":"` + email + `","password":"short-1","email_confirm":true}`)
	requireAppError(t, err, http.StatusUnprocessableEntity, "weak_password")
	_, err = create(`{"password":"long-enough-password"}`)
	requireAppError(t, err, http.StatusBadRequest, "validation_failed")
	_, err = create(`[1]`)
	requireAppError(t, err, http.StatusBadRequest, "bad_json")

	u, err := create(`{"email":"` + email + `","password":"` + password + `-long","email_confirm":true,"app_metadata":{"groups":["staff"]}}`)
	require.NoError(t, err)
	id := u["id"].(string)
	require.Equal(t, email, u["email"])
	require.Equal(t, []any{"staff"}, u["app_metadata"].(map[string]any)["groups"])
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password + "-long"}, "")
	s := sessionOf(t, status, body)
	_, err = create(`{"email":"` + email + `","password":"` + password + `-long"}`)
	requireAppError(t, err, http.StatusUnprocessableEntity, "email_exists")

	found, err := e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		id, err := e.svc.AdminFindUserID(ctx, tx, "  "+email+" ")
		return json.RawMessage(`{"id":"` + id + `"}`), err
	})
	require.NoError(t, err)
	require.Equal(t, id, found["id"])

	// A new password ends the user's sessions, as PUT /admin/users does.
	_, err = e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		return e.svc.AdminUpdateUser(ctx, tx, cli, client, id, json.RawMessage(`{"password":"short"}`))
	})
	requireAppError(t, err, http.StatusUnprocessableEntity, "weak_password")
	_, err = e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		return e.svc.AdminUpdateUser(ctx, tx, cli, client, id, json.RawMessage(`{"password":"a-brand-new-password"}`))
	})
	require.NoError(t, err)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": s.RefreshToken}, "")
	require.Equal(t, http.StatusBadRequest, status, "body: %v", body)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": "a-brand-new-password"}, "")
	sessionOf(t, status, body)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE resource_type = 'user' AND resource_id = $1 AND action = 'auth.admin_user_updated'
		AND actor_type = 'cli' AND details ->> 'actor_role' = 'cli'`, id))

	_, err = e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		return e.svc.AdminLockUser(ctx, tx, "00000000-0000-4000-8000-000000000000")
	})
	requireAppError(t, err, http.StatusNotFound, "user_not_found")
	_, err = e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		return e.svc.AdminLockUser(ctx, tx, "someone")
	})
	requireAppError(t, err, http.StatusNotFound, "user_not_found")
}

func TestAdminControlBansUnbansAndSignsOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "user")
	id := e.createUser(t, email)
	s := e.signIn(t, email)
	admin := access.Principal{Kind: access.KindAdmin, UserID: e.createUser(t, emailFor(t, "admin")), Level: access.SuperAdmin}

	_, err := e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		return e.svc.AdminBanUser(ctx, tx, admin, audit.Client{}, id, "1 day")
	})
	requireAppError(t, err, http.StatusBadRequest, "validation_failed")
	u, err := e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		return e.svc.AdminBanUser(ctx, tx, admin, audit.Client{}, id, "24h")
	})
	require.NoError(t, err)
	require.NotEmpty(t, u["banned_until"])
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "user_banned")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE resource_type = 'user' AND resource_id = $1 AND action = 'auth.admin_user_banned'
		AND actor_type = 'admin' AND actor_id = $2 AND details ->> 'actor_id' = $2 AND details ->> 'actor_role' = 'admin'`, id, admin.UserID))

	u, err = e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		return e.svc.AdminBanUser(ctx, tx, admin, audit.Client{}, id, "none")
	})
	require.NoError(t, err)
	require.Nil(t, u["banned_until"])
	e.signIn(t, email)

	var ended int64
	_, err = e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (_ json.RawMessage, err error) {
		ended, err = e.svc.AdminSignOutUser(ctx, tx, admin, audit.Client{}, id)
		return nil, err
	})
	require.NoError(t, err)
	require.EqualValues(t, 2, ended)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": s.RefreshToken}, "")
	require.Equal(t, http.StatusBadRequest, status, "body: %v", body)
	status, _ = e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	require.Equal(t, http.StatusForbidden, status, "the session is gone")
}

func TestAdminControlUnlocksALockedAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(lockoutConfig))
	email := emailFor(t, "locked")
	id := e.createUser(t, email)
	try := func(pw string) int {
		return e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password",
			Body: map[string]any{"email": email, "password": pw}, Header: datedHeader}).Status
	}
	for range 3 {
		try("wrong")
	}
	require.Equal(t, http.StatusTooManyRequests, try(password))

	var cleared int64
	_, err := e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (_ json.RawMessage, err error) {
		cleared, err = e.svc.AdminUnlockUser(ctx, tx, cli, audit.Client{}, id)
		return nil, err
	})
	require.NoError(t, err)
	require.EqualValues(t, 2, cleared, "the address's record and the account's")
	require.Equal(t, http.StatusOK, try(password))
	require.Equal(t, 1, e.eventsOf(t, id, "admin_user_unlocked"))
}

func TestAdminControlResetsMFA(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "mfa")
	s, f := e.mfaUser(t, email)
	status, body := e.call(t, "POST", "/auth/v1/factors/backup_codes", map[string]any{}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	id := userID(t, s.AccessToken)

	var removed int
	_, err := e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (_ json.RawMessage, err error) {
		removed, err = e.svc.AdminResetMFA(ctx, tx, cli, audit.Client{}, id)
		return nil, err
	})
	require.NoError(t, err)
	require.Equal(t, 1, removed)
	require.Equal(t, "", e.factorStatus(t, e.signIn(t, email).AccessToken, f.ID))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.mfa_backup_codes WHERE user_id = $1`, id))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.sessions WHERE user_id = $1 AND aal <> 'aal1'`, id))
	require.Equal(t, 1, e.eventsOf(t, id, "admin_mfa_reset"))
}

func TestAdminControlSendsRecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "forgot")
	id := e.createUser(t, email)
	_, err := e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		return nil, e.svc.AdminSendRecovery(ctx, tx, cli, audit.Client{}, id)
	})
	require.NoError(t, err)
	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	loc := e.follow(t, e.linkIn(t, mail))
	fragment := parseFragment(t, loc.Fragment)
	require.Equal(t, "recovery", fragment.Get("type"), "the link signs the user in to set a password")
	require.NotEmpty(t, fragment.Get("access_token"))

	phoneOnly := e.createPhoneUser(t)
	_, err = e.adminTx(t, func(ctx context.Context, tx pgx.Tx) (json.RawMessage, error) {
		return nil, e.svc.AdminSendRecovery(ctx, tx, cli, audit.Client{}, phoneOnly)
	})
	requireAppError(t, err, http.StatusUnprocessableEntity, "validation_failed")
}

func (e *env) createPhoneUser(t *testing.T) string {
	t.Helper()
	status, body := e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"phone": "+15555550123", "phone_confirm": true})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	return body["id"].(string)
}

func TestAdminControlListsUsersOfGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for label, groups := range map[string]any{"staff": []string{"staff"}, "both": []string{"staff", "help"}, "help": []string{"help"},
		"none": nil, "odd": "staff"} {
		status, body := e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"email": emailFor(t, label), "app_metadata": map[string]any{"groups": groups}})
		require.Equal(t, http.StatusOK, status, "body: %v", body)
	}
	list := func(q url.Values, groups []string) map[string]any {
		raw, err := e.svc.AdminListUsers(context.Background(), q, groups)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out))
		return out
	}
	require.EqualValues(t, 5, list(nil, nil)["total"])
	staff := list(url.Values{"per_page": {"1"}}, []string{"staff"})
	require.EqualValues(t, 2, staff["total"])
	require.EqualValues(t, 1, staff["per_page"])
	require.Len(t, staff["users"], 1)
	require.EqualValues(t, 0, list(nil, []string{})["total"], "an admin without groups manages nobody")
	require.EqualValues(t, 1, list(url.Values{"filter": {"both"}}, []string{"help"})["total"])
	_, err := e.svc.AdminListUsers(context.Background(), url.Values{"page": {"x"}}, nil)
	requireAppError(t, err, http.StatusBadRequest, "validation_failed")
}
