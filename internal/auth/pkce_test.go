package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

// pkcePair is a verifier and its S256 challenge, as supabase-js makes them.
func pkcePair(seed string) (verifier, challenge string) {
	verifier = strings.Repeat(seed, 64)[:64]
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// pkceCode signs up with PKCE and follows the confirmation link to its ?code=.
func pkceCode(t *testing.T, e *env, email, challenge string) string {
	t.Helper()
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{
		"email": email, "password": password, "code_challenge": challenge, "code_challenge_method": "s256",
	}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	link := e.linkIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	require.Contains(t, link, "token=pkce_")
	loc := e.follow(t, link)
	require.Empty(t, loc.Fragment, "no tokens in the URL in the PKCE flow")
	code := loc.Query().Get("code")
	require.NotEmpty(t, code)
	return code
}

func TestPKCEFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	verifier, challenge := pkcePair("v")
	code := pkceCode(t, e, emailFor(t, "pkce"), challenge)

	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": code, "code_verifier": verifier}, "")
	s := sessionOf(t, status, body)
	require.NotEmpty(t, s.User["email_confirmed_at"])
	require.Equal(t, "email/signup", claimsOf(t, s.AccessToken)["amr"].([]any)[0].(map[string]any)["method"])

	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": code, "code_verifier": verifier}, "")
	requireError(t, status, body, http.StatusNotFound, "flow_state_not_found")
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": code}, "")
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
}

func TestPKCERejectsTheWrongVerifierAndLateExchanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, challenge := pkcePair("a")
	code := pkceCode(t, e, emailFor(t, "wrong"), challenge)
	other, _ := pkcePair("b")
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": code, "code_verifier": other}, "")
	requireError(t, status, body, http.StatusBadRequest, "bad_code_verifier")

	verifier, challenge := pkcePair("c")
	code = pkceCode(t, e, emailFor(t, "late"), challenge)
	e.clock.Advance(auth.DefaultFlowStateExpiry + time.Second)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": code, "code_verifier": verifier}, "")
	requireError(t, status, body, http.StatusUnprocessableEntity, "flow_state_expired")
}

func TestPKCERecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "recover")
	e.signUpConfirmed(t, email)
	verifier, challenge := pkcePair("r")
	status, body := e.call(t, "POST", "/auth/v1/recover", map[string]any{
		"email": email, "code_challenge": challenge, "code_challenge_method": "S256",
	}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	require.Equal(t, "Reset Your Password", mail.Subject)
	loc := e.follow(t, e.linkIn(t, mail))
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": loc.Query().Get("code"), "code_verifier": verifier}, "")
	s := sessionOf(t, status, body)
	require.Equal(t, "recovery", claimsOf(t, s.AccessToken)["amr"].([]any)[0].(map[string]any)["method"])
}
