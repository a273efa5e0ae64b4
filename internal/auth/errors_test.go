package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/servicetest"
)

func TestErrorsComeInBothGoTrueShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := map[string]any{"email": emailFor(t, "x"), "password": "wrong"}

	dated := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password", Body: body, Header: datedHeader})
	require.Equal(t, http.StatusBadRequest, dated.Status)
	require.Equal(t, "2024-01-01", dated.Header.Get("X-Supabase-Api-Version"))
	require.Equal(t, "invalid_credentials", dated.Header.Get("x-sb-error-code"))
	require.JSONEq(t, `{"code":"invalid_credentials","message":"Invalid login credentials"}`, string(dated.Body))

	legacy := e.Do(t, requestLegacy("POST", "/auth/v1/token?grant_type=password", body))
	require.Equal(t, http.StatusBadRequest, legacy.Status)
	require.Empty(t, legacy.Header.Get("X-Supabase-Api-Version"))
	require.Equal(t, "invalid_credentials", legacy.Header.Get("x-sb-error-code"))
	require.JSONEq(t, `{"code":400,"error_code":"invalid_credentials","msg":"Invalid login credentials"}`, string(legacy.Body))

	// weak_password keeps its reasons in both shapes.
	weak := map[string]any{"email": emailFor(t, "weak"), "password": "123"}
	res := e.Do(t, requestLegacy("POST", "/auth/v1/signup", weak))
	require.Equal(t, http.StatusUnprocessableEntity, res.Status)
	var legacyWeak map[string]any
	res.JSON(t, &legacyWeak)
	require.Equal(t, "weak_password", legacyWeak["error_code"])
	require.Equal(t, []any{"length"}, legacyWeak["weak_password"].(map[string]any)["reasons"])
	status, datedWeak := e.call(t, "POST", "/auth/v1/signup", weak, "")
	requireError(t, status, datedWeak, http.StatusUnprocessableEntity, "weak_password")
	require.Equal(t, []any{"length"}, datedWeak["weak_password"].(map[string]any)["reasons"])
}

func TestBearerTokenErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "bearer")
	s := e.signUpConfirmed(t, email)

	// No Authorization header at all.
	res := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/user", Token: "-", Header: datedHeader})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "no_authorization", res.Header.Get("x-sb-error-code"))

	// The anon key as Bearer (what supabase-js sends when signed out) names no user.
	status, body := e.call(t, "GET", "/auth/v1/user", nil, "")
	requireError(t, status, body, http.StatusForbidden, "bad_jwt")

	// A token signed with another key.
	foreign, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": s.User["id"], "role": "authenticated", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte("another-secret-another-secret-0123456789"))
	require.NoError(t, err)
	status, body = e.call(t, "GET", "/auth/v1/user", nil, foreign)
	requireError(t, status, body, http.StatusForbidden, "bad_jwt")

	// An expired token.
	expired := e.UserToken(t, s.User["id"].(string), map[string]any{"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()})
	status, body = e.call(t, "GET", "/auth/v1/user", nil, expired)
	requireError(t, status, body, http.StatusForbidden, "bad_jwt")

	// A token that never expires: the user's own claims and session, but no exp.
	claims := jwt.MapClaims(claimsOf(t, s.AccessToken))
	delete(claims, "exp")
	forever, err := e.Keys.Sign(claims)
	require.NoError(t, err)
	status, body = e.call(t, "GET", "/auth/v1/user", nil, forever)
	requireError(t, status, body, http.StatusForbidden, "bad_jwt")

	// A valid token for a user that no longer exists.
	ghost := e.UserToken(t, "6b4d8f4e-7a8a-4f64-9c0e-3d6f8b0a1c2d", nil)
	status, body = e.call(t, "GET", "/auth/v1/user", nil, ghost)
	requireError(t, status, body, http.StatusForbidden, "user_not_found")

	// A valid token whose session was ended.
	status, _ = e.call(t, "POST", "/auth/v1/logout?scope=local", nil, s.AccessToken)
	require.Equal(t, http.StatusNoContent, status)
	status, body = e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "session_not_found")
}

func TestHealthSettingsAndJWKS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{
		cfg:  func(c *auth.Config) { c.AnonymousUsers = true; c.MailerAutoconfirm = true; c.Version = "v1.2.3" },
		deps: func(d *auth.Deps) { d.Providers = []auth.CustomProvider{newDirectory()} },
	})
	status, body := e.call(t, "GET", "/auth/v1/health", nil, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "GoTrue", body["name"])
	require.Equal(t, "v1.2.3", body["version"])

	status, body = e.call(t, "GET", "/auth/v1/settings", nil, "")
	require.Equal(t, http.StatusOK, status)
	external := body["external"].(map[string]any)
	require.Equal(t, true, external["email"])
	require.Equal(t, true, external["anonymous_users"])
	require.Equal(t, false, external["google"])
	require.Equal(t, true, external["directory"], "custom providers are listed")
	require.Equal(t, true, body["mailer_autoconfirm"])
	require.Equal(t, false, body["phone_autoconfirm"])
	require.Equal(t, false, body["disable_signup"])

	status, body = e.call(t, "GET", "/auth/v1/.well-known/jwks.json", nil, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []any{}, body["keys"])
}

func TestVerifyLinkNeedsNoAPIKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	loc := e.follow(t, "/auth/v1/verify?type=signup&token=nope") // follow sends no apikey
	require.Equal(t, "localhost:3000", loc.Host, "an unusable link still lands on the site")
	require.Equal(t, "otp_expired", parseFragment(t, loc.Fragment).Get("error_code"))
	res := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/settings", Key: "-"})
	require.Equal(t, http.StatusUnauthorized, res.Status, "other routes need one")
}

// TestJWKSNeedsNoAPIKey: the public keys are for anyone verifying tokens (another backend, an
// edge function), who should not need a project key to fetch them; GoTrue behind Supabase's
// gateway serves them openly.
func TestJWKSNeedsNoAPIKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/.well-known/jwks.json", Key: "-"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Contains(t, string(res.Body), `"keys"`)
}
