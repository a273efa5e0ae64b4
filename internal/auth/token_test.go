package auth_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/servicetest"
)

func TestPasswordGrantIssuesGoTrueClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.Issuer = "https://example.test/auth/v1" }))
	email := emailFor(t, "claims")
	e.signUpConfirmed(t, email)

	s := e.signIn(t, email)
	claims := claimsOf(t, s.AccessToken)
	require.Equal(t, "https://example.test/auth/v1", claims["iss"])
	require.Equal(t, s.User["id"], claims["sub"])
	require.Equal(t, "authenticated", claims["aud"])
	require.Equal(t, "authenticated", claims["role"])
	require.Equal(t, email, claims["email"])
	require.Equal(t, "", claims["phone"])
	require.Equal(t, "aal1", claims["aal"])
	require.Equal(t, false, claims["is_anonymous"])
	require.NotEmpty(t, claims["session_id"])
	require.Equal(t, map[string]any{"provider": "email", "providers": []any{"email"}}, claims["app_metadata"])
	require.Equal(t, map[string]any{}, claims["user_metadata"])
	amr := claims["amr"].([]any)
	require.Equal(t, "password", amr[0].(map[string]any)["method"])
	require.InDelta(t, float64(time.Hour/time.Second), claims["exp"].(float64)-claims["iat"].(float64), 0)
	require.NotEmpty(t, s.User["last_sign_in_at"])

	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.sessions WHERE id = $1 AND user_agent <> '' AND ip = '127.0.0.1'`, claims["session_id"]))
	require.Equal(t, 2, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.sign_in'`), "the confirmation and the password sign-in")
}

func TestPasswordGrantRejectsBadCredentialsAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "known")
	e.signUpConfirmed(t, email)

	for name, body := range map[string]map[string]any{
		"wrong password":  {"email": email, "password": "not-the-password"},
		"unknown address": {"email": emailFor(t, "nobody"), "password": password},
		"unknown phone":   {"phone": "+15550000000", "password": password},
		"overlong":        {"email": email, "password": strings.Repeat("x", 100)},
	} {
		status, got := e.call(t, "POST", "/auth/v1/token?grant_type=password", body, "")
		requireError(t, status, got, http.StatusBadRequest, "invalid_credentials")
		require.Equal(t, "Invalid login credentials", got["message"], name)
	}
	status, got := e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"password": password}, "")
	requireError(t, status, got, http.StatusBadRequest, "validation_failed")
	status, got = e.call(t, "POST", "/auth/v1/token?grant_type=magic", map[string]any{}, "")
	requireError(t, status, got, http.StatusBadRequest, "invalid_credentials")
	require.Equal(t, "unsupported_grant_type", got["message"])
}

func TestPasswordGrantWarnsAboutAPasswordTheCurrentPolicyRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "weak")
	e.signUpConfirmed(t, email)

	stricter := newEnvOnSameDatabase(t, e, func(c *auth.Config) { c.PasswordMinLength = 20 })
	status, body := stricter.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	sessionOf(t, status, body)
	weak := body["weak_password"].(map[string]any)
	require.Equal(t, []any{"length"}, weak["reasons"])
	require.NotEmpty(t, weak["message"])
}

func TestBannedUserCannotSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "banned")
	s := e.signUpConfirmed(t, email)
	_, err := e.DB.Pool.Exec(t.Context(), `UPDATE auth.users SET banned_until = now() + interval '1 day' WHERE id = $1`, s.User["id"])
	require.NoError(t, err)

	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "user_banned")
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": s.RefreshToken}, "")
	requireError(t, status, body, http.StatusBadRequest, "user_banned")
}

func TestRefreshTokenRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "rotate")
	e.signUpConfirmed(t, email)
	first := e.signIn(t, email)

	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": first.RefreshToken}, "")
	second := sessionOf(t, status, body)
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)
	require.Equal(t, claimsOf(t, first.AccessToken)["session_id"], claimsOf(t, second.AccessToken)["session_id"], "same session")
	require.Equal(t, claimsOf(t, first.AccessToken)["amr"], claimsOf(t, second.AccessToken)["amr"], "amr survives refresh")

	// Tokens are stored hashed.
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.refresh_tokens WHERE token = $1 OR token = $2`, first.RefreshToken, second.RefreshToken))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.refresh_tokens WHERE revoked`))

	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": "no-such-token"}, "")
	requireError(t, status, body, http.StatusBadRequest, "refresh_token_not_found")
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{}, "")
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
}

func TestConcurrentRefreshesOfOneTokenBothSucceed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "tabs")
	e.signUpConfirmed(t, email)
	s := e.signIn(t, email)

	const tabs = 4
	var wg sync.WaitGroup
	statuses := make([]int, tabs)
	bodies := make([]map[string]any, tabs)
	start := make(chan struct{})
	for i := range tabs {
		wg.Go(func() {
			<-start
			res := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=refresh_token",
				Body: map[string]any{"refresh_token": s.RefreshToken}, Header: datedHeader})
			statuses[i] = res.Status
			_ = json.Unmarshal(res.Body, &bodies[i])
		})
	}
	close(start)
	wg.Wait()
	// Every tab got the one child, as GoTrue answers: the first refresh rotated the token,
	// the others presented the parent of the active token and were given that token.
	first := sessionOf(t, statuses[0], bodies[0])
	for i := range tabs {
		r := sessionOf(t, statuses[i], bodies[i])
		require.Equal(t, first.RefreshToken, r.RefreshToken, "tab %d", i)
	}
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.refresh_tokens WHERE NOT revoked AND session_id = $1`,
		claimsOf(t, s.AccessToken)["session_id"]), "no sibling tokens")
	// Every tab can keep going with it.
	for range tabs {
		status, body := e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": first.RefreshToken}, "")
		sessionOf(t, status, body)
	}
}

func TestReplayedRefreshTokenRevokesTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "replay")
	e.signUpConfirmed(t, email)
	s := e.signIn(t, email)

	refresh := func(token string) (int, map[string]any) {
		return e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": token}, "")
	}
	status, body := refresh(s.RefreshToken)
	child := sessionOf(t, status, body)

	// The client lost the answer: the parent of the active token is honoured even later, and
	// answered with the active token itself (GoTrue does the same), not a new one.
	e.clock.Advance(20 * time.Second)
	for range 2 {
		status, body = refresh(s.RefreshToken)
		again := sessionOf(t, status, body)
		require.Equal(t, child.RefreshToken, again.RefreshToken)
		require.NotEqual(t, child.AccessToken, again.AccessToken, "a fresh access token")
		status, _ = e.call(t, "GET", "/auth/v1/user", nil, again.AccessToken)
		require.Equal(t, http.StatusOK, status)
	}
	require.Equal(t, 2, e.count(t, `SELECT count(*) FROM auth.refresh_tokens WHERE session_id = $1`,
		claimsOf(t, s.AccessToken)["session_id"]), "nothing was minted for the replays")

	status, body = refresh(child.RefreshToken)
	grandchild := sessionOf(t, status, body)

	// Now the first token is neither recent nor the parent of the active token: theft.
	e.clock.Advance(20 * time.Second)
	status, body = refresh(s.RefreshToken)
	requireError(t, status, body, http.StatusBadRequest, "refresh_token_already_used")

	// The whole session is gone: its newest token and its access tokens fail too.
	status, body = refresh(grandchild.RefreshToken)
	requireError(t, status, body, http.StatusBadRequest, "refresh_token_not_found")
	status, body = e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "session_not_found")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.refresh_token_reused' AND severity = 'warning'`))

	// Other sessions of the user are untouched.
	e.signIn(t, email)
}

func TestReplayedGrandparentIsHonouredOnlyWithinTheReuseInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "grandparent")
	e.signUpConfirmed(t, email)
	s := e.signIn(t, email)
	refresh := func(token string) (int, map[string]any) {
		return e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": token}, "")
	}
	status, body := refresh(s.RefreshToken)
	child := sessionOf(t, status, body)

	// A replay of the first token after the interval would, if it minted a sibling, make that
	// token the parent of an active one for ever. It gets the active token instead, so
	// once the child rotates the first token is dead.
	e.clock.Advance(20 * time.Second)
	status, body = refresh(s.RefreshToken)
	require.Equal(t, child.RefreshToken, sessionOf(t, status, body).RefreshToken)
	status, body = refresh(child.RefreshToken)
	sessionOf(t, status, body)
	e.clock.Advance(time.Hour)
	status, body = refresh(s.RefreshToken)
	requireError(t, status, body, http.StatusBadRequest, "refresh_token_already_used")
}

func TestReplayOfATokenSealedBeforeTheUpgradeFallsUnderTheInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "legacy")
	e.signUpConfirmed(t, email)
	s := e.signIn(t, email)
	refresh := func(token string) (int, map[string]any) {
		return e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": token}, "")
	}
	status, body := refresh(s.RefreshToken)
	sessionOf(t, status, body)
	// Rows written before migration 0008 have no sealed copy to hand back.
	_, err := e.DB.Pool.Exec(t.Context(), `UPDATE auth.refresh_tokens SET sealed_by_parent = NULL`)
	require.NoError(t, err)

	e.clock.Advance(20 * time.Second)
	status, body = refresh(s.RefreshToken)
	requireError(t, status, body, http.StatusBadRequest, "refresh_token_already_used")
}

func TestRefreshWithinTheReuseIntervalIsHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "interval")
	e.signUpConfirmed(t, email)
	s := e.signIn(t, email)
	refresh := func(token string) (int, map[string]any) {
		return e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": token}, "")
	}
	status, body := refresh(s.RefreshToken)
	child := sessionOf(t, status, body)
	status, body = refresh(child.RefreshToken)
	sessionOf(t, status, body)

	// s is no longer the parent of the active token, but was revoked moments ago.
	e.clock.Advance(5 * time.Second)
	status, body = refresh(s.RefreshToken)
	sessionOf(t, status, body)
}

// newEnvOnSameDatabase starts a second service with another configuration over e's database.
func newEnvOnSameDatabase(t *testing.T, e *env, cfg func(*auth.Config)) *env {
	t.Helper()
	return newEnv(t, options{cfg: cfg, deps: func(d *auth.Deps) { d.Pool = e.DB.Pool }})
}
