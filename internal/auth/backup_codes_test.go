package auth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// generateCodes asks for a new set of backup codes.
func (e *env) generateCodes(t *testing.T, token string) []string {
	t.Helper()
	status, body := e.call(t, "POST", "/auth/v1/factors/backup_codes", nil, token)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	var codes []string
	for _, c := range body["codes"].([]any) {
		codes = append(codes, c.(string))
	}
	require.EqualValues(t, len(codes), body["total"])
	return codes
}

func (e *env) useCode(t *testing.T, token, code string) (int, map[string]any) {
	t.Helper()
	return e.call(t, "POST", "/auth/v1/factors/backup_codes/verify", map[string]any{"code": code}, token)
}

func TestBackupCodesStandInForTheAuthenticatorOnceEach(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "lost")
	upgraded, _ := e.mfaUser(t, email)
	uid := userID(t, upgraded.AccessToken)

	partial := e.signIn(t, email)
	status, body := e.call(t, "POST", "/auth/v1/factors/backup_codes", nil, partial.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "insufficient_aal")

	codes := e.generateCodes(t, upgraded.AccessToken)
	require.Len(t, codes, 10)
	for _, c := range codes {
		require.Regexp(t, `^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$`, c)
	}
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.mfa_backup_codes WHERE code_hash = ANY($1)`, codes),
		"only hashes are stored")
	status, body = e.call(t, "GET", "/auth/v1/factors/backup_codes", nil, partial.AccessToken)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 10, body["total"])
	require.EqualValues(t, 10, body["remaining"])

	// A new sign-in reaches aal2 with a code instead of the authenticator.
	status, body = e.useCode(t, partial.AccessToken, codes[0])
	withCode := sessionOf(t, status, body)
	require.EqualValues(t, 9, body["backup_codes_remaining"])
	require.Equal(t, "aal2", claimsOf(t, withCode.AccessToken)["aal"])
	require.ElementsMatch(t, []string{"password", "mfa/backup_code"}, amrMethods(t, withCode.AccessToken))
	require.Equal(t, 1, e.eventsOf(t, uid, "backup_code_used"))

	// Each code works once; case, dashes and spaces do not matter.
	again := e.signIn(t, email)
	status, body = e.useCode(t, again.AccessToken, codes[0])
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")
	require.Equal(t, "Invalid backup code entered", body["message"])
	sloppy := strings.ToUpper(strings.ReplaceAll(codes[1], "-", " "))
	status, body = e.useCode(t, again.AccessToken, sloppy)
	sessionOf(t, status, body)
	status, body = e.useCode(t, again.AccessToken, "")
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	require.Equal(t, 1, e.eventsOf(t, uid, "mfa_verification_failed"))

	// A new set replaces the old one.
	fresh := e.generateCodes(t, withCode.AccessToken)
	third := e.signIn(t, email)
	status, body = e.useCode(t, third.AccessToken, codes[2])
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")
	status, body = e.useCode(t, third.AccessToken, fresh[0])
	sessionOf(t, status, body)
	require.Equal(t, 2, e.eventsOf(t, uid, "backup_codes_generated"))
}

func TestBackupCodesGoWithTheLastFactor(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "last")
	upgraded, f := e.mfaUser(t, email)
	codes := e.generateCodes(t, upgraded.AccessToken)

	// Lost the authenticator: a code raises a new session, which may then remove the factor.
	partial := e.signIn(t, email)
	status, body := e.useCode(t, partial.AccessToken, codes[0])
	recovered := sessionOf(t, status, body)
	status, body = e.call(t, "DELETE", "/auth/v1/factors/"+f.ID, nil, recovered.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)

	status, body = e.call(t, "GET", "/auth/v1/factors/backup_codes", nil, recovered.AccessToken)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 0, body["total"], "codes without a factor to stand in for are void")
	require.Equal(t, 1, e.eventsOf(t, userID(t, recovered.AccessToken), "backup_codes_deleted"))
	status, body = e.useCode(t, e.signIn(t, email).AccessToken, codes[1])
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")

	// Without a second factor no session stays at aal2, and there is nothing to make codes for.
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": recovered.RefreshToken}, "")
	refreshed := sessionOf(t, status, body)
	require.Equal(t, "aal1", claimsOf(t, refreshed.AccessToken)["aal"])
	require.Equal(t, []string{"password"}, amrMethods(t, refreshed.AccessToken))
	status, body = e.call(t, "POST", "/auth/v1/factors/backup_codes", nil, recovered.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "insufficient_aal")
}

func TestDeletingBackupCodesNeedsAAL2(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "delete")
	upgraded, _ := e.mfaUser(t, email)
	codes := e.generateCodes(t, upgraded.AccessToken)
	partial := e.signIn(t, email)
	status, body := e.call(t, "DELETE", "/auth/v1/factors/backup_codes", nil, partial.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "insufficient_aal")
	status, body = e.call(t, "DELETE", "/auth/v1/factors/backup_codes", nil, upgraded.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = e.useCode(t, partial.AccessToken, codes[0])
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")
}

func TestWrongBackupCodesCountTowardsTheMFALock(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, withConfig(lockoutConfig))
	email := emailFor(t, "guesser")
	upgraded, f := e.mfaUser(t, email)
	codes := e.generateCodes(t, upgraded.AccessToken)
	partial := e.signIn(t, email)
	status, body := e.useCode(t, partial.AccessToken, "aaaa-aaaa-aaaa-aaaa")
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")
	status, body = e.verifyCode(t, partial.AccessToken, f.ID, e.challenge(t, partial.AccessToken, f.ID), "000000")
	requireError(t, status, body, http.StatusUnprocessableEntity, "mfa_verification_failed")
	status, body = e.useCode(t, partial.AccessToken, "bbbb-bbbb-bbbb-bbbb")
	requireError(t, status, body, http.StatusTooManyRequests, "user_locked")
	status, body = e.useCode(t, partial.AccessToken, codes[0])
	requireError(t, status, body, http.StatusTooManyRequests, "user_locked")
}
