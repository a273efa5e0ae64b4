package auth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/sms"
)

func TestRateLimitsPerAddressAndPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{
		cfg:     func(c *auth.Config) { c.RateLimits.OTP = 2; c.RateLimits.Token = 1 },
		gateway: gateway.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
	})
	otp := func(from, email string) servicetest.Response {
		return e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/otp", Body: map[string]any{"email": email},
			Header: http.Header{"X-Forwarded-For": {from}, "X-Supabase-Api-Version": {"2024-01-01"}}})
	}
	target := emailFor(t, "target")
	require.Equal(t, http.StatusOK, otp("203.0.113.1", target).Status)
	require.Equal(t, http.StatusOK, otp("203.0.113.1", target).Status)

	// The address is spent, whichever IP asks.
	limited := otp("203.0.113.2", target)
	require.Equal(t, http.StatusTooManyRequests, limited.Status)
	require.Equal(t, "over_request_rate_limit", limited.Header.Get("x-sb-error-code"))
	require.NotEmpty(t, limited.Header.Get("Retry-After"))
	require.JSONEq(t, `{"code":"over_request_rate_limit","message":"Request rate limit reached"}`, string(limited.Body))

	// The first IP is spent for every address; another IP and address still work.
	require.Equal(t, http.StatusTooManyRequests, otp("203.0.113.1", emailFor(t, "other")).Status)
	require.Equal(t, http.StatusOK, otp("203.0.113.3", emailFor(t, "third")).Status)

	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": "x"}, "")
	requireError(t, status, body, http.StatusBadRequest, "refresh_token_not_found")
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": "x"}, "")
	requireError(t, status, body, http.StatusTooManyRequests, "over_request_rate_limit")
}

func TestNodeWideEmailLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.RateLimits.EmailSent = 1 }))
	status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": emailFor(t, "one")}, "")
	require.Equal(t, http.StatusOK, status)
	status, body := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": emailFor(t, "two")}, "")
	requireError(t, status, body, http.StatusTooManyRequests, "over_email_send_rate_limit")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.users`), "the second user was not kept")
}

// failingSMS is an SMS provider that is down.
type failingSMS struct{}

func (failingSMS) Send(context.Context, sms.Message) (string, error) {
	return "", errors.New("provider unreachable")
}

func TestSMSProviderFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{deps: func(d *auth.Deps) { d.SMS = failingSMS{} }})
	status, body := e.call(t, "POST", "/auth/v1/otp", map[string]any{"phone": "+15550109000"}, "")
	requireError(t, status, body, http.StatusBadRequest, "sms_send_failed")
	require.NotContains(t, body["message"], "unreachable", "the provider's error stays in the logs")
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.users`))
}

func TestOversizedBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{gateway: gateway.Config{MaxBodyBytes: 1024}})
	// Without a Content-Length the gateway cannot refuse up front; the service's reader stops.
	chunked := io.MultiReader(strings.NewReader(`{"email":"a@example.com","password":"` + strings.Repeat("x", 2000) + `"}`))
	status, body := e.call(t, "POST", "/auth/v1/signup", chunked, "")
	requireError(t, status, body, http.StatusRequestEntityTooLarge, "request_too_large")

	e = newEnv(t)
	status, body = e.call(t, "POST", "/auth/v1/signup", map[string]any{
		"email": "a@example.com", "password": password, "data": map[string]any{"blob": strings.Repeat("x", 20000)},
	}, "")
	requireError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
}

func TestExpiredSessionCannotRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.signUpConfirmed(t, emailFor(t, "timebox"))
	_, err := e.DB.Pool.Exec(t.Context(), `UPDATE auth.sessions SET not_after = now() - interval '1 minute'`)
	require.NoError(t, err)
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": s.RefreshToken}, "")
	requireError(t, status, body, http.StatusBadRequest, "session_expired")
}

func TestSignupVerifyAndRecoverAreLimitedPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{
		cfg:     func(c *auth.Config) { c.RateLimits.OTP = 1; c.RateLimits.Verify = 1 },
		gateway: gateway.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
	})
	post := func(from, path string, body map[string]any) servicetest.Response {
		return e.Do(t, servicetest.Request{Method: "POST", Path: path, Body: body,
			Header: http.Header{"X-Forwarded-For": {from}, "X-Supabase-Api-Version": {"2024-01-01"}}})
	}
	requireLimited := func(r servicetest.Response) {
		t.Helper()
		require.Equal(t, http.StatusTooManyRequests, r.Status, "body: %s", r.Body)
		require.Equal(t, "over_request_rate_limit", r.Header.Get("x-sb-error-code"))
		require.NotEmpty(t, r.Header.Get("Retry-After"))
		require.JSONEq(t, `{"code":"over_request_rate_limit","message":"Request rate limit reached"}`, string(r.Body))
	}
	// Every request names a new address, so only the IP's bucket can run out.
	signup := func(from, label string) servicetest.Response {
		return post(from, "/auth/v1/signup", map[string]any{"email": emailFor(t, label), "password": password})
	}
	require.Equal(t, http.StatusOK, signup("198.51.100.10", "signup-1").Status)
	requireLimited(signup("198.51.100.10", "signup-2"))
	require.Equal(t, http.StatusOK, signup("198.51.100.11", "signup-3").Status, "another IP still signs up")

	recoverFrom := func(from, label string) servicetest.Response {
		return post(from, "/auth/v1/recover", map[string]any{"email": emailFor(t, label)})
	}
	require.Equal(t, http.StatusOK, recoverFrom("198.51.100.20", "recover-1").Status)
	requireLimited(recoverFrom("198.51.100.20", "recover-2"))
	require.Equal(t, http.StatusOK, recoverFrom("198.51.100.21", "recover-3").Status, "another IP still recovers")

	verify := func(from, label string) servicetest.Response {
		return post(from, "/auth/v1/verify", map[string]any{"type": "email", "email": emailFor(t, label), "token": "123456"})
	}
	require.Equal(t, http.StatusForbidden, verify("198.51.100.30", "verify-1").Status, "a wrong code, but not limited")
	requireLimited(verify("198.51.100.30", "verify-2"))
	require.Equal(t, http.StatusForbidden, verify("198.51.100.31", "verify-3").Status, "another IP is not limited")
}
