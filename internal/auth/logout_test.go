package auth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogoutScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "scopes")
	e.signUpConfirmed(t, email)
	alive := func(s session) bool {
		status, _ := e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
		return status == http.StatusOK
	}
	logout := func(s session, scope string) {
		t.Helper()
		status, body := e.call(t, "POST", "/auth/v1/logout"+scope, nil, s.AccessToken)
		require.Equal(t, http.StatusNoContent, status, "body: %v", body)
		require.Nil(t, body, "204 has no body")
	}

	a, b, c := e.signIn(t, email), e.signIn(t, email), e.signIn(t, email)
	logout(a, "?scope=others")
	require.True(t, alive(a))
	require.False(t, alive(b))
	require.False(t, alive(c))

	d := e.signIn(t, email)
	logout(a, "?scope=local")
	require.False(t, alive(a))
	require.True(t, alive(d))
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": a.RefreshToken}, "")
	requireError(t, status, body, http.StatusBadRequest, "refresh_token_not_found")

	f := e.signIn(t, email)
	logout(d, "") // global is the default
	require.False(t, alive(d))
	require.False(t, alive(f))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.sessions`))

	g := e.signIn(t, email)
	status, body = e.call(t, "POST", "/auth/v1/logout?scope=everything", nil, g.AccessToken)
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.logout'`))
}
