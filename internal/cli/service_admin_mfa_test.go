package cli

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/servicetest"
)

// challengeOf reads a sign-in that asks for a second factor.
func challengeOf(t *testing.T, res servicetest.Response) (token string, factors []map[string]any) {
	t.Helper()
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var body struct {
		MFARequired    bool             `json:"mfa_required"`
		ChallengeToken string           `json:"challenge_token"`
		Token          string           `json:"token"`
		Factors        []map[string]any `json:"factors"`
	}
	res.JSON(t, &body)
	require.True(t, body.MFARequired, "%s", res.Body)
	require.Empty(t, body.Token, "no session before the second factor")
	require.NotEmpty(t, body.ChallengeToken)
	return body.ChallengeToken, body.Factors
}

// sessionMFAVerified reads mfa_verified of the session behind token.
func (e *adminEnv) sessionMFAVerified(t *testing.T, token string) bool {
	t.Helper()
	res := e.me(t, token)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	return jsonOf(t, res)["session"].(map[string]any)["mfa_verified"].(bool)
}

// TestAdminWithAFactorSignsInWithIt: an admin who enrolled a TOTP factor is asked for it in
// every environment; a wrong code is auth's 422, a right one opens a session marked
// mfa_verified, and neither the challenge nor the code works twice.
func TestAdminWithAFactorSignsInWithIt(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{})
	id := e.newAdmin(t, "admin@example.com", "regular_admin")
	factorID, secret, _ := e.enrolledTOTP(t, "admin@example.com")
	password := map[string]any{"email": "admin@example.com", "password": adminPassword}

	challenge, factors := challengeOf(t, e.signIn(t, password, nil))
	require.Equal(t, []map[string]any{{"id": factorID, "type": "totp", "friendly_name": "phone app"}}, factors)

	res := e.finishMFA(t, challenge, factorID, "000000", nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s", res.Body)
	require.Equal(t, `{"code":422,"error_code":"mfa_verification_failed","msg":"Invalid TOTP code entered"}`+"\n", string(res.Body))

	code := e.totpCode(t, secret)
	res = e.finishMFA(t, challenge, factorID, code, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	token := jsonOf(t, res)["token"].(string)
	require.True(t, e.sessionMFAVerified(t, token))

	res = e.finishMFA(t, challenge, factorID, code, nil)
	require.Equal(t, "mfa_challenge_expired", jsonOf(t, res)["error_code"], "a challenge opens one session")
	challenge, _ = challengeOf(t, e.signIn(t, password, nil))
	res = e.finishMFA(t, challenge, factorID, code, nil)
	require.Equal(t, "mfa_verification_failed", jsonOf(t, res)["error_code"], "a TOTP code is good once")
	e.clock.Advance(30 * time.Second)
	res = e.finishMFA(t, challenge, factorID, e.totpCode(t, secret), datedErrors)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)

	signIns := e.audits(t, "admin.sign_in")
	require.Len(t, signIns, 2)
	require.Equal(t, map[string]any{"method": "totp", "mfa": true, "cookie": false, "level": "regular_admin"}, signIns[0].Details)
	require.Len(t, e.audits(t, "admin.sign_in_mfa_challenge"), 2)
	failed := e.audits(t, "admin.sign_in_failed")
	require.Len(t, failed, 3)
	require.Equal(t, id, failed[0].ActorID)
	require.Equal(t, map[string]any{"step": "mfa", "error_code": "mfa_verification_failed", "status": float64(422)}, failed[0].Details)
}

// TestAdminSignsInWithABackupCode: backup codes are offered beside TOTP factors, open a
// session once each, and count towards auth's MFA lock when wrong.
func TestAdminSignsInWithABackupCode(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{})
	id := e.newAdmin(t, "admin@example.com", "super_admin")
	factorID, _, aal2 := e.enrolledTOTP(t, "admin@example.com")
	codes := e.backupCodes(t, aal2)
	password := map[string]any{"email": "admin@example.com", "password": adminPassword}

	challenge, factors := challengeOf(t, e.signIn(t, password, nil))
	require.Equal(t, []map[string]any{
		{"id": factorID, "type": "totp", "friendly_name": "phone app"},
		{"id": "backup_code", "type": "backup_code", "friendly_name": "Backup code"},
	}, factors)
	res := e.finishMFA(t, challenge, "backup_code", "aaaa-bbbb-cccc-dddd", nil)
	require.Equal(t, `{"code":422,"error_code":"mfa_verification_failed","msg":"Invalid backup code entered"}`+"\n", string(res.Body))
	var failures int
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(),
		`SELECT failed_attempts FROM auth.sign_in_lockouts WHERE subject = 'mfa:' || $1`, id).Scan(&failures))
	require.Equal(t, 1, failures, "counted by auth's MFA lock")

	res = e.finishMFA(t, challenge, "backup_code", codes[0], nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.True(t, e.sessionMFAVerified(t, jsonOf(t, res)["token"].(string)))
	require.Equal(t, "backup_code", e.audits(t, "admin.sign_in")[0].Details["method"])

	challenge, _ = challengeOf(t, e.signIn(t, password, nil))
	res = e.finishMFA(t, challenge, "backup_code", codes[0], nil)
	require.Equal(t, "mfa_verification_failed", jsonOf(t, res)["error_code"], "a backup code is good once")
}

// TestAdminSignInChallengeIsVoidAfterWrongCodes: five wrong codes void a challenge, so that
// guessing has to go through the password (and its lockout) again.
func TestAdminSignInChallengeIsVoidAfterWrongCodes(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{config: func(c *config.Config) { c.Auth.Lockout.Attempts = 20 }})
	e.newAdmin(t, "admin@example.com", "moderator")
	factorID, secret, _ := e.enrolledTOTP(t, "admin@example.com")
	challenge, _ := challengeOf(t, e.signIn(t, map[string]any{"email": "admin@example.com", "password": adminPassword}, nil))
	for range 5 {
		res := e.finishMFA(t, challenge, factorID, "000000", nil)
		require.Equal(t, "mfa_verification_failed", jsonOf(t, res)["error_code"])
	}
	res := e.finishMFA(t, challenge, factorID, e.totpCode(t, secret), nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.Status)
	require.Equal(t, "mfa_challenge_expired", jsonOf(t, res)["error_code"])
}

// TestAdminSignInChallengeExpires: a challenge is good for five minutes.
func TestAdminSignInChallengeExpires(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{})
	e.newAdmin(t, "admin@example.com", "moderator")
	factorID, secret, _ := e.enrolledTOTP(t, "admin@example.com")
	challenge, _ := challengeOf(t, e.signIn(t, map[string]any{"email": "admin@example.com", "password": adminPassword}, nil))
	e.clock.Advance(5*time.Minute + time.Second)
	res := e.finishMFA(t, challenge, factorID, e.totpCode(t, secret), nil)
	require.Equal(t, "mfa_challenge_expired", jsonOf(t, res)["error_code"], "%s", res.Body)
}

// TestAdminSignInChallengeAnswersOnlyItsAddress: the second step must come from the address
// the password came from.
func TestAdminSignInChallengeAnswersOnlyItsAddress(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{trustLoopbackProxy: true})
	e.newAdmin(t, "admin@example.com", "moderator")
	factorID, secret, _ := e.enrolledTOTP(t, "admin@example.com")
	challenge, _ := challengeOf(t, e.signIn(t, map[string]any{"email": "admin@example.com", "password": adminPassword}, fromClient("203.0.113.5")))
	res := e.finishMFA(t, challenge, factorID, e.totpCode(t, secret), fromClient("203.0.113.6"))
	require.Equal(t, http.StatusUnprocessableEntity, res.Status)
	require.Equal(t, "mfa_ip_address_mismatch", jsonOf(t, res)["error_code"])
	res = e.finishMFA(t, challenge, factorID, e.totpCode(t, secret), fromClient("203.0.113.5"))
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
}

// TestEnvironmentsRequireMFAByLevel: production asks system and super admins for a second
// factor, staging system admins, development nobody; an admin who must and has none is told
// to enrol one, and one who has it signs in with it.
func TestEnvironmentsRequireMFAByLevel(t *testing.T) {
	t.Parallel()
	for env, required := range map[string][]string{
		"production":  {"system_admin", "super_admin"},
		"staging":     {"system_admin"},
		"development": nil,
	} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			e := newAdminEnv(t, adminEnvOptions{environment: env, publicURL: "https://api.example.com"})
			for _, level := range []string{"system_admin", "super_admin", "regular_admin", "moderator"} {
				email := level + "@example.com"
				e.newAdmin(t, email, level)
				res := e.signIn(t, map[string]any{"email": email, "password": adminPassword}, nil)
				if !contains(required, level) {
					require.Equal(t, http.StatusOK, res.Status, "%s: %s", level, res.Body)
					require.NotEmpty(t, jsonOf(t, res)["token"], level)
					continue
				}
				require.Equal(t, http.StatusForbidden, res.Status, "%s: %s", level, res.Body)
				require.Equal(t, "mfa_enrollment_required", jsonOf(t, res)["error_code"], level)
				factorID, secret, _ := e.enrolledTOTP(t, email)
				challenge, _ := challengeOf(t, e.signIn(t, map[string]any{"email": email, "password": adminPassword}, nil))
				res = e.finishMFA(t, challenge, factorID, e.totpCode(t, secret), nil)
				require.Equal(t, http.StatusOK, res.Status, "%s: %s", level, res.Body)
				require.True(t, e.sessionMFAVerified(t, jsonOf(t, res)["token"].(string)))
				e.clock.Advance(30 * time.Second)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestProductionRefusesAdminSignInOverPlainHTTP: with an http public URL, production admits
// sign-in only from this host, and not through a proxy relaying someone else; with an https
// public URL, from anywhere.
func TestProductionRefusesAdminSignInOverPlainHTTP(t *testing.T) {
	t.Parallel()
	password := map[string]any{"email": "admin@example.com", "password": adminPassword}
	tests := []struct {
		name      string
		env       string
		publicURL string
		trusted   bool
		header    http.Header
		want      int
	}{
		{"production, http, from another host", "production", "http://api.example.com", true, fromClient("203.0.113.5"), http.StatusForbidden},
		{"production, http, relayed by a proxy it does not trust", "production", "http://api.example.com", false, fromClient("203.0.113.5"), http.StatusForbidden},
		{"production, http, Forwarded header", "production", "http://api.example.com", false, http.Header{"Forwarded": {"for=203.0.113.5"}}, http.StatusForbidden},
		{"production, http, from this host", "production", "http://api.example.com", false, nil, http.StatusOK},
		{"production, https, from another host", "production", "https://api.example.com", true, fromClient("203.0.113.5"), http.StatusOK},
		{"staging, http, from another host", "staging", "http://api.example.com", true, fromClient("203.0.113.5"), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newAdminEnv(t, adminEnvOptions{environment: tt.env, publicURL: tt.publicURL, trustLoopbackProxy: tt.trusted})
			e.newAdmin(t, "admin@example.com", "regular_admin")
			if tt.want == http.StatusOK {
				res := e.signIn(t, password, tt.header)
				require.Equal(t, tt.want, res.Status, "%s", res.Body)
				return
			}
			res := e.signIn(t, map[string]any{"email": "admin@example.com", "password": "wrong-password"}, tt.header)
			require.Equal(t, tt.want, res.Status, "%s", res.Body)
			require.Equal(t, "https_required", jsonOf(t, res)["error_code"])
			require.Equal(t, "https_required", e.audits(t, "admin.sign_in_failed")[0].Details["error_code"])
			var failures int
			require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM auth.sign_in_lockouts`).Scan(&failures))
			require.Zero(t, failures, "the password is not even looked at")
			res = e.finishMFA(t, "gfc_x", "backup_code", "x", tt.header)
			require.Equal(t, "https_required", jsonOf(t, res)["error_code"])
		})
	}
}

// TestAdminSignInIntoTheDashboardsCookie: "cookie": true (or the X-Use-Cookie header) puts
// the session in an HttpOnly, SameSite=Strict cookie (Secure under an https public URL) and
// answers the CSRF token instead of the session token; unsafe requests riding on the cookie
// need that token, and signing out clears the cookie.
func TestAdminSignInIntoTheDashboardsCookie(t *testing.T) {
	t.Parallel()
	for _, publicURL := range []string{"https://api.example.com", "http://localhost:8080"} {
		t.Run(publicURL, func(t *testing.T) {
			t.Parallel()
			e := newAdminEnv(t, adminEnvOptions{publicURL: publicURL})
			e.newAdmin(t, "admin@example.com", "moderator")
			password := map[string]any{"email": "admin@example.com", "password": adminPassword}
			asked := []servicetest.Response{
				e.signIn(t, map[string]any{"email": "admin@example.com", "password": adminPassword, "cookie": true}, nil),
				e.signIn(t, password, http.Header{"X-Use-Cookie": {"1"}}),
			}
			for _, res := range asked {
				require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
				body := jsonOf(t, res)
				require.NotContains(t, body, "token", "the session token stays out of the dashboard's script")
				require.NotEmpty(t, body["csrf_token"])
				cookies := (&http.Response{Header: res.Header}).Cookies()
				require.Len(t, cookies, 1)
				c := cookies[0]
				require.Equal(t, "goforward_admin_session", c.Name)
				require.True(t, c.HttpOnly)
				require.Equal(t, http.SameSiteStrictMode, c.SameSite)
				require.Equal(t, "/", c.Path)
				require.Equal(t, publicURL == "https://api.example.com", c.Secure)

				cookie := http.Header{"Cookie": {c.Name + "=" + c.Value}}
				me := e.do(t, servicetest.Request{Method: "GET", Path: "/admin/v1/me", Header: cookie})
				require.Equal(t, http.StatusOK, me.Status, "%s", me.Body)
				require.Equal(t, body["csrf_token"], jsonOf(t, me)["csrf_token"])

				for _, csrf := range []string{"", "wrong"} {
					h := cookie.Clone()
					if csrf != "" {
						h.Set("X-CSRF-Token", csrf)
					}
					res := e.do(t, servicetest.Request{Method: "DELETE", Path: "/admin/v1/sessions/current", Header: h})
					require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
					require.Equal(t, "csrf_failed", jsonOf(t, res)["error_code"])
				}
				h := cookie.Clone()
				h.Set("X-CSRF-Token", body["csrf_token"].(string))
				out := e.do(t, servicetest.Request{Method: "DELETE", Path: "/admin/v1/sessions/current", Header: h})
				require.Equal(t, http.StatusNoContent, out.Status, "%s", out.Body)
				cleared := (&http.Response{Header: out.Header}).Cookies()
				require.Len(t, cleared, 1)
				require.Equal(t, "goforward_admin_session", cleared[0].Name)
				require.Negative(t, cleared[0].MaxAge)
				require.Equal(t, http.StatusUnauthorized, e.do(t, servicetest.Request{Method: "GET", Path: "/admin/v1/me", Header: cookie}).Status)
			}
			require.Equal(t, []bool{true, true}, []bool{
				e.audits(t, "admin.sign_in")[0].Details["cookie"].(bool), e.audits(t, "admin.sign_in")[1].Details["cookie"].(bool),
			})
		})
	}
}
