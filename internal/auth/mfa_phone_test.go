package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

func TestPhoneFactorTextsACodeThatRaisesTheSession(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, withConfig(func(c *auth.Config) {
		c.MFAPhone = true
		c.MaxFrequency = time.Minute
	}))
	email := emailFor(t, "phone")
	e.createUser(t, email)
	s := e.signIn(t, email)

	status, body := e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "phone"}, s.AccessToken)
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "phone", "phone": "12"}, s.AccessToken)
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	status, body = e.call(t, "POST", "/auth/v1/factors",
		map[string]any{"factor_type": "phone", "phone": "+1 555 555 0100", "friendly_name": "mobile"}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "phone", body["type"])
	require.Equal(t, "+1 555 555 0100", body["phone"])
	factorID := body["id"].(string)

	status, body = e.call(t, "POST", "/auth/v1/factors/"+factorID+"/challenge", map[string]any{"channel": "carrier-pigeon"}, s.AccessToken)
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	challengeID := e.challenge(t, s.AccessToken, factorID)
	messages := e.inbox(t, "+15555550100")
	require.Len(t, messages, 1)
	require.Equal(t, "sms", messages[0]["channel"])
	code := messages[0]["data"].(map[string]any)["token"].(string)
	var stored string
	require.NoError(t, e.DB.Pool.QueryRow(t.Context(), `SELECT otp_code FROM auth.mfa_challenges WHERE id = $1`, challengeID).Scan(&stored))
	require.NotEqual(t, code, stored, "only a hash of the code is kept")

	// One SMS a minute per factor.
	status, body = e.call(t, "POST", "/auth/v1/factors/"+factorID+"/challenge", map[string]any{}, s.AccessToken)
	requireError(t, status, body, http.StatusTooManyRequests, "over_sms_send_rate_limit")

	status, body = e.verifyCode(t, s.AccessToken, factorID, challengeID, "000000")
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")
	require.Equal(t, "Invalid MFA Phone code entered", body["message"])
	status, body = e.verifyCode(t, s.AccessToken, factorID, challengeID, code)
	upgraded := sessionOf(t, status, body)
	require.Equal(t, "aal2", claimsOf(t, upgraded.AccessToken)["aal"])
	require.Contains(t, amrMethods(t, upgraded.AccessToken), "mfa/phone")
	require.Equal(t, "verified", e.factorStatus(t, upgraded.AccessToken, factorID))

	status, body = e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "phone", "phone": "+15555550100"}, upgraded.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verified_factor_exists")
}

func TestPhoneFactorsCanBeTurnedOffAfterEnrolment(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, withConfig(func(c *auth.Config) { c.MFAPhone = true }))
	email := emailFor(t, "off")
	e.createUser(t, email)
	s := e.signIn(t, email)
	status, body := e.call(t, "POST", "/auth/v1/factors", map[string]any{"factor_type": "phone", "phone": "+15555550101"}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	factorID := body["id"].(string)
	challengeID := e.challenge(t, s.AccessToken, factorID)

	off := newEnvOnSameDatabase(t, e, func(c *auth.Config) { c.MFAPhone = false })
	status, body = off.call(t, "POST", "/auth/v1/factors/"+factorID+"/challenge", map[string]any{}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_phone_verify_not_enabled")
	status, body = off.verifyCode(t, s.AccessToken, factorID, challengeID, "123456")
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_phone_verify_not_enabled")
}
