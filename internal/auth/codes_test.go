package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

// gotrueTokenHash is how GoTrue derives an e-mail link's token: hex(SHA-224(address + code)),
// which anyone who knows the address can compute for every possible code.
func gotrueTokenHash(address, code string) string {
	sum := sha256.Sum224([]byte(address + code))
	return hex.EncodeToString(sum[:])
}

// otherCodes returns n six-digit codes other than code.
func otherCodes(code string, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		if c := fmt.Sprintf("%06d", i); c != code {
			out = append(out, c)
		}
	}
	return out
}

func TestLinkTokenCannotBeDerivedFromTheAddressAndCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "victim")
	e.signUpConfirmed(t, email)

	status, body := e.call(t, "POST", "/auth/v1/recover", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	code := codeIn(t, mail)
	link, err := url.Parse(e.linkIn(t, mail))
	require.NoError(t, err)
	secret := link.Query().Get("token")

	// Someone who knows the address tries the derived token of twenty codes, the right one
	// among them, through both kinds of /verify: none of them exists.
	guesses := append([]string{code}, otherCodes(code, 19)...)
	for _, guess := range guesses {
		status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "recovery", "token_hash": gotrueTokenHash(email, guess)}, "")
		requireError(t, status, body, http.StatusForbidden, "otp_expired")
	}
	loc := e.follow(t, "/auth/v1/verify?type=recovery&token="+gotrueTokenHash(email, code))
	require.Equal(t, "otp_expired", parseFragment(t, loc.Fragment).Get("error_code"))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.sessions`), "only the sign-up's session: no guess signed in")
	require.Regexp(t, `^[0-9a-f]{56}$`, secret, "the shape of GoTrue's token hash")
	require.NotEqual(t, gotrueTokenHash(email, code), secret)

	// The owner's link still works, also as supabase-js sends it: verifyOtp({token_hash, type}).
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "recovery", "token_hash": secret}, "")
	require.Equal(t, email, sessionOf(t, status, body).User["email"])
}

func TestWrongCodesVoidTheLinkAsWell(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.OTPMaxAttempts = 5 }))
	email := emailFor(t, "victim")
	e.signUpConfirmed(t, email)

	status, body := e.call(t, "POST", "/auth/v1/recover", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	code, link := codeIn(t, mail), e.linkIn(t, mail)

	for _, guess := range otherCodes(code, 5) {
		status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "recovery", "email": email, "token": guess}, "")
		requireError(t, status, body, http.StatusForbidden, "otp_expired")
	}
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "recovery", "email": email, "token": code}, "")
	requireError(t, status, body, http.StatusForbidden, "otp_expired")
	loc := e.follow(t, link)
	require.Equal(t, "otp_expired", parseFragment(t, loc.Fragment).Get("error_code"), "the link was the same token")
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.one_time_tokens`))
}

func TestTokenAtTheAttemptLimitIsRefusedBeforeItIsDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.OTPMaxAttempts = 5 }))
	email := emailFor(t, "race")
	e.signUpConfirmed(t, email)
	status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))

	// Concurrent guesses can leave a token at the limit for a moment before it is deleted;
	// the right code must not get through in that moment.
	_, err := e.DB.Pool.Exec(t.Context(), `UPDATE auth.one_time_tokens SET failed_attempts = 5`)
	require.NoError(t, err)
	status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "magiclink", "email": email, "token": code}, "")
	requireError(t, status, body, http.StatusForbidden, "otp_expired")
}

func TestTokenHashIsRefusedForTextMessageTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"phone": "+15550107000", "password": password}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	code := e.latestCode(t, "+15550107000")
	for _, typ := range []string{"sms", "phone_change"} {
		status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": typ, "token_hash": gotrueTokenHash("15550107000", code)}, "")
		requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	}
	messages := e.inbox(t, "+15550107000")
	require.NotContains(t, messages[0]["data"], "token_hash", "a text message has no link")
}

func TestEmailCodesLiveOneHourByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "hour")
	e.signUpConfirmed(t, email)

	status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	e.clock.Advance(59 * time.Minute)
	status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "magiclink", "email": email, "token": code}, "")
	sessionOf(t, status, body)

	status, _ = e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	e.clock.Advance(61 * time.Minute)
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "magiclink", "email": email, "token": codeIn(t, mail)}, "")
	requireError(t, status, body, http.StatusForbidden, "otp_expired")
	loc := e.follow(t, e.linkIn(t, mail))
	require.Equal(t, "otp_expired", parseFragment(t, loc.Fragment).Get("error_code"))
}

func TestWrongNoncesVoidTheNonce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) {
		c.UpdatePasswordRequireReauthentication = true
		c.OTPMaxAttempts = 3
	}))
	email := emailFor(t, "nonce")
	s := e.signUpConfirmed(t, email)
	e.clock.Advance(25 * time.Hour)

	status, body := e.call(t, "GET", "/auth/v1/reauthenticate", nil, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	nonce := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	for _, guess := range otherCodes(nonce, 3) {
		status, body := e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "second-password", "nonce": guess}, s.AccessToken)
		requireError(t, status, body, http.StatusUnprocessableEntity, "reauthentication_not_valid")
	}
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "second-password", "nonce": nonce}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "reauthentication_not_valid")
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.otp_failed' AND details->>'type' = 'reauthentication'`))

	// A new nonce works.
	status, body = e.call(t, "GET", "/auth/v1/reauthenticate", nil, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	nonce = codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "second-password", "nonce": nonce}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
}
