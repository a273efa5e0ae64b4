package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/servicetest"
)

// answer is what a client can observe of a response, minus what differs between any two
// requests (request id, date).
type answer struct {
	Status     int
	Body       string
	Code       string
	RetryAfter string
}

func (e *env) answer(t *testing.T, path string, body map[string]any) answer {
	t.Helper()
	res := e.Do(t, servicetest.Request{Method: "POST", Path: path, Body: body, Header: datedHeader})
	return answer{Status: res.Status, Body: string(res.Body), Code: res.Header.Get("x-sb-error-code"), RetryAfter: res.Header.Get("Retry-After")}
}

func TestSendLimitAnswersAlikeForAddressesWithAndWithoutAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.MaxFrequency = time.Minute }))
	known, unknown := emailFor(t, "known"), emailFor(t, "unknown")
	e.signUpConfirmed(t, known)
	e.clock.Advance(2 * time.Minute) // past the sign-up mail's own limit
	alike := func(path string, body func(address string) map[string]any) answer {
		t.Helper()
		a, b := e.answer(t, path, body(known)), e.answer(t, path, body(unknown))
		require.Equal(t, a, b, "%s answers alike for both addresses", path)
		return a
	}
	email := func(address string) map[string]any { return map[string]any{"email": address} }
	resendSignup := func(address string) map[string]any { return map[string]any{"type": "signup", "email": address} }

	first := alike("/auth/v1/recover", email)
	require.Equal(t, answer{Status: http.StatusOK, Body: "{}\n"}, first)
	again := alike("/auth/v1/recover", email)
	require.Equal(t, http.StatusTooManyRequests, again.Status)
	require.Equal(t, "over_email_send_rate_limit", again.Code)
	require.Equal(t, "60", again.RetryAfter)
	require.Contains(t, again.Body, "For security purposes, you can only request this after 60 seconds.")

	// One limit for every endpoint that sends a code to the address.
	e.clock.Advance(30 * time.Second)
	later := alike("/auth/v1/magiclink", email)
	require.Equal(t, http.StatusTooManyRequests, later.Status)
	require.Equal(t, "30", later.RetryAfter)
	alike("/auth/v1/otp", email)
	alike("/auth/v1/resend", resendSignup)

	// Once the minute is over both get through again, and once more are held back.
	e.clock.Advance(31 * time.Second)
	require.Equal(t, http.StatusOK, alike("/auth/v1/resend", resendSignup).Status)
	require.Equal(t, http.StatusTooManyRequests, alike("/auth/v1/recover", email).Status)

	require.Len(t, e.inbox(t, known), 2, "the sign-up confirmation and one recovery link")
	require.Empty(t, e.inbox(t, unknown))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.users`), "no account was created for the unknown address")
}

func TestSendLimitForPhonesAnswersAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.MaxFrequency = time.Minute }))
	status, _ := e.call(t, "POST", "/auth/v1/signup", map[string]any{"phone": "+15550109000", "password": password}, "")
	require.Equal(t, http.StatusOK, status)
	e.clock.Advance(2 * time.Minute)

	sms := func(phone string) map[string]any { return map[string]any{"type": "sms", "phone": phone} }
	require.Equal(t, http.StatusOK, e.answer(t, "/auth/v1/resend", sms("+15550109000")).Status)
	require.Equal(t, http.StatusOK, e.answer(t, "/auth/v1/resend", sms("+15550109001")).Status)
	a, b := e.answer(t, "/auth/v1/resend", sms("+15550109000")), e.answer(t, "/auth/v1/resend", sms("+15550109001"))
	require.Equal(t, a, b)
	require.Equal(t, http.StatusTooManyRequests, a.Status)
	require.Equal(t, "over_sms_send_rate_limit", a.Code)
	c := e.answer(t, "/auth/v1/otp", map[string]any{"phone": "+15550109001", "create_user": false})
	require.Equal(t, a.Code, c.Code, "/otp shares the limit")
}

func TestSendRecordIsRolledBackWhenTheSendFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.MaxFrequency = time.Minute }))
	email := emailFor(t, "flaky")
	e.signUpConfirmed(t, email)
	e.clock.Advance(2 * time.Minute)

	e.smtp.FailNext(1)
	status, body := e.call(t, "POST", "/auth/v1/recover", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusInternalServerError, status, "body: %v", body)
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.send_frequency`))
	status, body = e.call(t, "POST", "/auth/v1/recover", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status, "the failed send does not count: body %v", body)
}
