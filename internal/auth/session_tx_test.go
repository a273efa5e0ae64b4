package auth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// failRefreshTokenInserts makes every new refresh token fail to insert, as a full disk or a
// lost connection half-way through issuing a session would.
func (e *env) failRefreshTokenInserts(t *testing.T) {
	t.Helper()
	_, err := e.DB.Pool.Exec(t.Context(), `
		CREATE FUNCTION public.test_fail_refresh_token() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'refresh token insert failed on purpose'; END $$;
		CREATE TRIGGER test_fail_refresh_token BEFORE INSERT ON auth.refresh_tokens
			FOR EACH ROW EXECUTE FUNCTION public.test_fail_refresh_token();`)
	require.NoError(t, err)
}

func (e *env) allowRefreshTokenInserts(t *testing.T) {
	t.Helper()
	_, err := e.DB.Pool.Exec(t.Context(), `DROP TRIGGER test_fail_refresh_token ON auth.refresh_tokens`)
	require.NoError(t, err)
}

// sessionWrites counts every row a sign-in writes besides the refresh token.
func (e *env) sessionWrites(t *testing.T) map[string]int {
	t.Helper()
	return map[string]int{
		"sessions":        e.count(t, `SELECT count(*) FROM auth.sessions`),
		"amr claims":      e.count(t, `SELECT count(*) FROM auth.mfa_amr_claims`),
		"security events": e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action LIKE 'auth.%'`),
		"audit entries":   e.count(t, `SELECT count(*) FROM auth.audit_log_entries`),
		"signed-in users": e.count(t, `SELECT count(*) FROM auth.users WHERE last_sign_in_at IS NOT NULL`),
	}
}

func TestPasswordSignInThatCannotIssueARefreshTokenLeavesNoSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "user")
	e.signUpConfirmed(t, email)
	_, err := e.DB.Pool.Exec(t.Context(), `UPDATE auth.users SET last_sign_in_at = NULL`)
	require.NoError(t, err)
	before := e.sessionWrites(t)

	e.failRefreshTokenInserts(t)
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusInternalServerError, "unexpected_failure")
	require.Equal(t, before, e.sessionWrites(t), "a failed sign-in writes nothing")

	e.allowRefreshTokenInserts(t)
	s := e.signIn(t, email)
	claims := claimsOf(t, s.AccessToken)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.refresh_tokens WHERE session_id = $1`, claims["session_id"]))
	after := e.sessionWrites(t)
	require.Equal(t, before["sessions"]+1, after["sessions"])
	require.Equal(t, 1, after["signed-in users"])
}

func TestRefreshThatCannotIssueAChildTokenKeepsTheOldOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.signUpConfirmed(t, emailFor(t, "user"))

	e.failRefreshTokenInserts(t)
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": s.RefreshToken}, "")
	requireError(t, status, body, http.StatusInternalServerError, "unexpected_failure")
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.refresh_tokens WHERE revoked`), "the presented token stays usable")

	e.allowRefreshTokenInserts(t)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": s.RefreshToken}, "")
	sessionOf(t, status, body)
}
