package auth_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/servicetest"
)

func TestTOTPEnrolChallengeAndVerifyRaiseTheSessionToAAL2(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "ann")
	e.createUser(t, email)
	s := e.signIn(t, email)
	require.Equal(t, "aal1", claimsOf(t, s.AccessToken)["aal"])

	status, body := e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "totp", "friendly_name": "Phone app"}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "totp", body["type"])
	require.Equal(t, "Phone app", body["friendly_name"])
	object := body["totp"].(map[string]any)
	secret, uri, qr := object["secret"].(string), object["uri"].(string), object["qr_code"].(string)
	require.Regexp(t, `^[A-Z2-7]{32}$`, secret, "a 160-bit base32 secret")
	parsed, err := url.Parse(uri)
	require.NoError(t, err)
	require.Equal(t, "otpauth", parsed.Scheme)
	require.Equal(t, "totp", parsed.Host)
	require.Equal(t, "/localhost:3000:"+email, parsed.Path, "the issuer defaults to site_url's host")
	require.Equal(t, secret, parsed.Query().Get("secret"))
	require.True(t, strings.HasPrefix(qr, "<svg "), "raw SVG markup, which supabase-js prefixes with a data URI: %.40s", qr)
	require.True(t, strings.HasSuffix(qr, "</svg>"))
	factorID := body["id"].(string)
	require.Equal(t, "unverified", e.factorStatus(t, s.AccessToken, factorID))

	var stored string
	require.NoError(t, e.DB.Pool.QueryRow(t.Context(), `SELECT secret FROM auth.mfa_factors WHERE id = $1`, factorID).Scan(&stored))
	require.NotContains(t, stored, secret, "the secret is encrypted at rest")
	require.True(t, strings.HasPrefix(stored, "gf1:"))

	status, body = e.call(t, "POST", "/auth/v1/factors/"+factorID+"/challenge", map[string]any{"factorId": factorID}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "totp", body["type"])
	require.InDelta(t, e.clock.Now().Add(300*time.Second).Unix(), body["expires_at"], 1)
	challengeID := body["id"].(string)

	status, body = e.verifyCode(t, s.AccessToken, factorID, challengeID, totpCode(t, secret, e.clock.Now()))
	upgraded := sessionOf(t, status, body)
	claims := claimsOf(t, upgraded.AccessToken)
	require.Equal(t, "aal2", claims["aal"])
	require.Equal(t, claimsOf(t, s.AccessToken)["session_id"], claims["session_id"], "the same session, raised")
	require.ElementsMatch(t, []string{"totp", "password"}, amrMethods(t, upgraded.AccessToken))
	require.NotEqual(t, s.RefreshToken, upgraded.RefreshToken, "the refresh token rotates")
	require.Equal(t, "verified", e.factorStatus(t, upgraded.AccessToken, factorID))
	uid := userID(t, s.AccessToken)
	require.Equal(t, 1, e.eventsOf(t, uid, "mfa_enrolled"))
	require.Equal(t, 1, e.eventsOf(t, uid, "mfa_verified"))

	// A refresh keeps the session at aal2.
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": upgraded.RefreshToken}, "")
	refreshed := sessionOf(t, status, body)
	require.Equal(t, "aal2", claimsOf(t, refreshed.AccessToken)["aal"])
	require.Contains(t, amrMethods(t, refreshed.AccessToken), "totp")

	// A new sign-in starts at aal1 again and can be raised with the next code.
	e.clock.Advance(30 * time.Second)
	again := e.signIn(t, email)
	require.Equal(t, "aal1", claimsOf(t, again.AccessToken)["aal"])
	status, body = e.verifyCode(t, again.AccessToken, factorID, e.challenge(t, again.AccessToken, factorID), totpCode(t, secret, e.clock.Now()))
	require.Equal(t, "aal2", claimsOf(t, sessionOf(t, status, body).AccessToken)["aal"])
}

func TestTOTPCodeWorksOnlyOnce(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "replay")
	s, f := e.mfaUser(t, email)

	code := totpCode(t, f.Secret, e.clock.Now())
	status, body := e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), code)
	sessionOf(t, status, body)
	status, body = e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), code)
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")

	// The previous step's code is within the skew but older than the one used: refused too.
	previous := totpCode(t, f.Secret, e.clock.Now().Add(-30*time.Second))
	status, body = e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), previous)
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")

	e.clock.Advance(30 * time.Second)
	status, body = e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), totpCode(t, f.Secret, e.clock.Now()))
	sessionOf(t, status, body)
}

func TestTOTPAcceptsOneStepOfClockSkew(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "skew")
	e.createUser(t, email)
	s := e.signIn(t, email)
	f := e.enrollTOTP(t, s.AccessToken, "")
	challengeID := e.challenge(t, s.AccessToken, f.ID)

	status, body := e.verifyCode(t, s.AccessToken, f.ID, challengeID, totpCode(t, f.Secret, e.clock.Now().Add(-90*time.Second)))
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")
	require.Equal(t, "Invalid TOTP code entered", body["message"])
	status, body = e.verifyCode(t, s.AccessToken, f.ID, challengeID, totpCode(t, f.Secret, e.clock.Now().Add(30*time.Second)))
	sessionOf(t, status, body)
}

func TestChallengeRules(t *testing.T) {
	t.Parallel()
	trusted := gateway.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	e := newMFAEnv(t, options{gateway: trusted})
	email := emailFor(t, "rules")
	e.createUser(t, email)
	s := e.signIn(t, email)
	f := e.enrollTOTP(t, s.AccessToken, "app")
	code := func() string { return totpCode(t, f.Secret, e.clock.Now()) }

	status, body := e.verifyCode(t, s.AccessToken, f.ID, "not-a-uuid", code())
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	status, body = e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), " ")
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	// A code is compared, never stored, but it is bounded like every other token.
	status, body = e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), strings.Repeat("1", 129))
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	require.Equal(t, "Code is too long", body["message"])
	status, body = e.verifyCode(t, s.AccessToken, f.ID, "7b0ff2a8-8bd1-4b5e-9d7e-5a4d3b2c1f00", code())
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_factor_not_found")

	// Expired after five minutes, and gone.
	expiring := e.challenge(t, s.AccessToken, f.ID)
	e.clock.Advance(301 * time.Second)
	status, body = e.verifyCode(t, s.AccessToken, f.ID, expiring, code())
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_challenge_expired")
	status, body = e.verifyCode(t, s.AccessToken, f.ID, expiring, code())
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_factor_not_found")

	// Bound to the address it was created from.
	elsewhere := e.challenge(t, s.AccessToken, f.ID)
	res := e.Do(t, servicetest.Request{
		Method: "POST", Path: "/auth/v1/factors/" + f.ID + "/verify", Token: s.AccessToken,
		Body:   map[string]any{"challenge_id": elsewhere, "code": code()},
		Header: http.Header{"X-Supabase-Api-Version": {"2024-01-01"}, "X-Forwarded-For": {"203.0.113.9"}},
	})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "body: %s", res.Body)
	require.Equal(t, "mfa_ip_address_mismatch", res.Header.Get("x-sb-error-code"))

	// Used once.
	status, body = e.verifyCode(t, s.AccessToken, f.ID, elsewhere, code())
	upgraded := sessionOf(t, status, body)
	e.clock.Advance(30 * time.Second)
	status, body = e.verifyCode(t, upgraded.AccessToken, f.ID, elsewhere, code())
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_ip_address_mismatch")

	// Another user's factor, and ids that are not ids.
	other := emailFor(t, "other")
	e.createUser(t, other)
	stranger := e.signIn(t, other)
	status, body = e.call(t, "POST", "/auth/v1/factors/"+f.ID+"/challenge", map[string]any{}, stranger.AccessToken)
	requireError(t, status, body, http.StatusNotFound, "mfa_factor_not_found")
	status, body = e.call(t, "DELETE", "/auth/v1/factors/nope", nil, s.AccessToken)
	requireError(t, status, body, http.StatusNotFound, "validation_failed")
}

func TestWrongCodesVoidTheChallenge(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, withConfig(func(c *auth.Config) { c.LockoutAttempts = -1 }))
	email := emailFor(t, "guess")
	e.createUser(t, email)
	s := e.signIn(t, email)
	f := e.enrollTOTP(t, s.AccessToken, "app")
	challengeID := e.challenge(t, s.AccessToken, f.ID)
	for range auth.DefaultOTPMaxAttempts {
		status, body := e.verifyCode(t, s.AccessToken, f.ID, challengeID, "000000")
		requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")
	}
	status, body := e.verifyCode(t, s.AccessToken, f.ID, challengeID, totpCode(t, f.Secret, e.clock.Now()))
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_factor_not_found")
	require.Equal(t, auth.DefaultOTPMaxAttempts, e.eventsOf(t, userID(t, s.AccessToken), "mfa_verification_failed"))
}

func TestWrongCodesLockVerificationLikeWrongPasswords(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, withConfig(lockoutConfig))
	email := emailFor(t, "locked")
	e.createUser(t, email)
	s := e.signIn(t, email)
	f := e.enrollTOTP(t, s.AccessToken, "app")
	for i := range 3 {
		status, body := e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), "000000")
		if i < 2 {
			requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")
			continue
		}
		requireError(t, status, body, http.StatusTooManyRequests, "user_locked")
		require.Equal(t, "Too many failed verification attempts. Try again in 60 seconds.", body["message"])
	}
	// Locked: even the right code waits.
	status, body := e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), totpCode(t, f.Secret, e.clock.Now()))
	requireError(t, status, body, http.StatusTooManyRequests, "user_locked")
	uid := userID(t, s.AccessToken)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE resource_id = $1 AND action = 'auth.account_locked'
		AND details ->> 'scope' = 'mfa'`, uid))
	// Password sign-in is not locked by MFA failures.
	e.signIn(t, email)

	e.clock.Advance(time.Minute)
	status, body = e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), totpCode(t, f.Secret, e.clock.Now()))
	sessionOf(t, status, body)
}

func TestEnrolmentRules(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "limits")
	e.createUser(t, email)
	s := e.signIn(t, email)

	e.enrollTOTP(t, s.AccessToken, "laptop")
	status, body := e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "totp", "friendly_name": "laptop"}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_factor_name_conflict")
	for range 9 {
		e.enrollTOTP(t, s.AccessToken, "")
	}
	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "totp"}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "too_many_enrolled_mfa_factors")
	// Enrolments nobody verified for five minutes make room again.
	e.clock.Advance(6 * time.Minute)
	e.enrollTOTP(t, s.AccessToken, "laptop")

	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "webauthn"}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_webauthn_enroll_not_enabled")
	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "phone", "phone": "+15555550100"}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_phone_enroll_not_enabled")
	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "sms"}, s.AccessToken)
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "totp", "issuer": strings.Repeat("x", 300)}, s.AccessToken)
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "totp"}, "")
	requireError(t, status, body, http.StatusForbidden, "bad_jwt")
	res := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/factors", Token: "-", Body: map[string]any{"factor_type": "totp"}, Header: datedHeader})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "no_authorization", res.Header.Get("x-sb-error-code"))
	// A token that names no session cannot be raised to aal2.
	sessionless := e.UserToken(t, userID(t, s.AccessToken), nil)
	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "totp"}, sessionless)
	requireError(t, status, body, http.StatusForbidden, "session_not_found")
}

func TestANewFactorNeedsAAL2OnceOneIsVerified(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "second")
	upgraded, _ := e.mfaUser(t, email)
	partial := e.signIn(t, email)
	status, body := e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "totp", "friendly_name": "backup"}, partial.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "insufficient_aal")
	e.enrollTOTP(t, upgraded.AccessToken, "backup")
}

func TestAnonymousUsersHaveNoFactors(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, withConfig(func(c *auth.Config) { c.AnonymousUsers = true }))
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{}, "")
	s := sessionOf(t, status, body)
	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "totp"}, s.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "no_authorization")
}

func TestUnenrol(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "unenrol")
	upgraded, f := e.mfaUser(t, email)
	pending := e.enrollTOTP(t, upgraded.AccessToken, "never verified")
	partial := e.signIn(t, email)

	// An unverified factor goes at aal1; a verified one needs aal2.
	status, body := e.call(t, "DELETE", "/auth/v1/factors/"+pending.ID, nil, partial.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, map[string]any{"id": pending.ID}, body)
	status, body = e.call(t, "DELETE", "/auth/v1/factors/"+f.ID, nil, partial.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "insufficient_aal")

	status, body = e.call(t, "DELETE", "/auth/v1/factors/"+f.ID, nil, upgraded.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "", e.factorStatus(t, upgraded.AccessToken, f.ID))
	require.Equal(t, 2, e.eventsOf(t, userID(t, upgraded.AccessToken), "mfa_unenrolled"))

	// The session it raised is back at aal1, without the totp method.
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": upgraded.RefreshToken}, "")
	refreshed := sessionOf(t, status, body)
	require.Equal(t, "aal1", claimsOf(t, refreshed.AccessToken)["aal"])
	require.NotContains(t, amrMethods(t, refreshed.AccessToken), "totp")
}

func TestVerifyingEndsTheUsersOtherAAL1Sessions(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "others")
	e.createUser(t, email)
	other := e.signIn(t, email)
	s := e.signIn(t, email)
	f := e.enrollTOTP(t, s.AccessToken, "app")
	status, body := e.verifyCode(t, s.AccessToken, f.ID, e.challenge(t, s.AccessToken, f.ID), totpCode(t, f.Secret, e.clock.Now()))
	upgraded := sessionOf(t, status, body)

	status, body = e.call(t, "GET", "/auth/v1/user", nil, other.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "session_not_found")
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": other.RefreshToken}, "")
	requireError(t, status, body, http.StatusBadRequest, "refresh_token_not_found")
	status, _ = e.call(t, "GET", "/auth/v1/user", nil, upgraded.AccessToken)
	require.Equal(t, http.StatusOK, status)
}

func TestMFARateLimit(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, withConfig(func(c *auth.Config) { c.RateLimits.MFA = 2 }))
	email := emailFor(t, "limited")
	e.createUser(t, email)
	s := e.signIn(t, email)
	f := e.enrollTOTP(t, s.AccessToken, "app")
	e.challenge(t, s.AccessToken, f.ID)
	e.challenge(t, s.AccessToken, f.ID)
	status, body := e.call(t, "POST", "/auth/v1/factors/"+f.ID+"/challenge", map[string]any{}, s.AccessToken)
	requireError(t, status, body, http.StatusTooManyRequests, "over_request_rate_limit")
}

func TestBannedUsersCannotVerify(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "banned")
	e.createUser(t, email)
	s := e.signIn(t, email)
	f := e.enrollTOTP(t, s.AccessToken, "app")
	challengeID := e.challenge(t, s.AccessToken, f.ID)
	status, body := e.admin(t, "PUT", "/auth/v1/admin/users/"+userID(t, s.AccessToken), map[string]any{"ban_duration": "1h"})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = e.verifyCode(t, s.AccessToken, f.ID, challengeID, totpCode(t, f.Secret, e.clock.Now()))
	requireError(t, status, body, http.StatusBadRequest, "user_banned")
}
