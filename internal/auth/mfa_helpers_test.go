package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
)

// totpCode is what an authenticator app shows for secret at t.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return code
}

// newMFAEnv is newEnv with the service's clock ten minutes behind the real one: tests move
// it forward through TOTP steps and challenge lifetimes, and the gateway checks the iat of
// the tokens it then signs against the real clock.
func newMFAEnv(t *testing.T, opts ...options) *env {
	t.Helper()
	e := newEnv(t, opts...)
	e.clock.Advance(-10 * time.Minute)
	return e
}

// admin calls the admin API with the service-role key, as supabase.auth.admin does.
func (e *env) admin(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	res := e.Do(t, servicetest.Request{Method: method, Path: path, Body: body, Key: e.ServiceRoleKey(), Header: datedHeader})
	var out map[string]any
	if len(res.Body) > 0 && res.Body[0] == '{' {
		res.JSON(t, &out)
	}
	return res.Status, out
}

// createUser makes a confirmed e-mail user with the test password through the admin API.
func (e *env) createUser(t *testing.T, email string) string {
	t.Helper()
	status, body := e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"email": email, "password": password, "email_confirm": true})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	return body["id"].(string)
}

// totpFactor is a TOTP factor as POST /factors returned it.
type totpFactor struct {
	ID, Secret, URI, QRCode string
}

// enrollTOTP enrolls a TOTP factor named name.
func (e *env) enrollTOTP(t *testing.T, token, name string) totpFactor {
	t.Helper()
	status, body := e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "totp", "friendly_name": name}, token)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	object := body["totp"].(map[string]any)
	return totpFactor{ID: body["id"].(string), Secret: object["secret"].(string), URI: object["uri"].(string), QRCode: object["qr_code"].(string)}
}

// challenge creates a challenge for the factor and returns its id.
func (e *env) challenge(t *testing.T, token, factorID string) string {
	t.Helper()
	status, body := e.call(t, "POST", "/auth/v1/factors/"+factorID+"/challenge", map[string]any{}, token)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	return body["id"].(string)
}

// verifyCode answers a challenge.
func (e *env) verifyCode(t *testing.T, token, factorID, challengeID, code string) (int, map[string]any) {
	t.Helper()
	return e.call(t, "POST", "/auth/v1/factors/"+factorID+"/verify", map[string]any{"challenge_id": challengeID, "code": code}, token)
}

// mfaUser is a user with a verified TOTP factor and an aal2 session. The clock has moved on
// past the step of the code used, so that the next code is accepted.
func (e *env) mfaUser(t *testing.T, email string) (session, totpFactor) {
	t.Helper()
	e.createUser(t, email)
	s := e.signIn(t, email)
	f := e.enrollTOTP(t, s.AccessToken, "phone app")
	status, body := e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), totpCode(t, f.Secret, e.clock.Now()))
	upgraded := sessionOf(t, status, body)
	e.clock.Advance(30 * time.Second)
	return upgraded, f
}

// amrMethods lists the methods of a token's amr claim.
func amrMethods(t *testing.T, token string) []string {
	t.Helper()
	var out []string
	for _, entry := range claimsOf(t, token)["amr"].([]any) {
		out = append(out, entry.(map[string]any)["method"].(string))
	}
	return out
}

// eventsOf counts the user's security events of a type.
func (e *env) eventsOf(t *testing.T, userID, eventType string) int {
	t.Helper()
	return e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE resource_id = $1 AND action = 'auth.' || $2`, userID, eventType)
}

// userID is the sub of an access token.
func userID(t *testing.T, token string) string {
	t.Helper()
	return claimsOf(t, token)["sub"].(string)
}

// factorStatus is the status of a factor in GET /user, or "" if the user has no such factor.
func (e *env) factorStatus(t *testing.T, token, factorID string) string {
	t.Helper()
	status, body := e.call(t, "GET", "/auth/v1/user", nil, token)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	factors, _ := body["factors"].([]any)
	for _, f := range factors {
		if f := f.(map[string]any); f["id"] == factorID {
			return f["status"].(string)
		}
	}
	return ""
}
