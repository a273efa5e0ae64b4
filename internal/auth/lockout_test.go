package auth_test

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/servicetest"
)

func lockoutConfig(c *auth.Config) {
	c.LockoutAttempts = 3
	c.LockoutDuration = time.Minute
	c.LockoutMaxDuration = 4 * time.Minute
}

func TestLockoutAfterRepeatedWrongPasswords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(lockoutConfig))
	email := emailFor(t, "locked")
	e.signUpConfirmed(t, email)
	try := func(pw string) servicetest.Response {
		return e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password",
			Body: map[string]any{"email": email, "password": pw}, Header: datedHeader})
	}
	requireCode := func(res servicetest.Response, status int, code string) {
		t.Helper()
		require.Equal(t, status, res.Status, "body: %s", res.Body)
		require.Equal(t, code, res.Header.Get("x-sb-error-code"))
	}

	requireCode(try("wrong-1"), http.StatusBadRequest, "invalid_credentials")
	requireCode(try("wrong-2"), http.StatusBadRequest, "invalid_credentials")
	locked := try("wrong-3")
	requireCode(locked, http.StatusTooManyRequests, "user_locked")
	require.Equal(t, "60", locked.Header.Get("Retry-After"))
	// While locked even the right password is refused.
	requireCode(try(password), http.StatusTooManyRequests, "user_locked")

	// The lock ends; a correct password then clears the count.
	e.clock.Advance(61 * time.Second)
	require.Equal(t, http.StatusOK, try(password).Status)
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.sign_in_lockouts`))

	requireCode(try("wrong-4"), http.StatusBadRequest, "invalid_credentials")
	requireCode(try("wrong-5"), http.StatusBadRequest, "invalid_credentials")
	requireCode(try("wrong-6"), http.StatusTooManyRequests, "user_locked")
	e.clock.Advance(61 * time.Second)

	// A second lock without a success in between lasts twice as long.
	requireCode(try("wrong-7"), http.StatusBadRequest, "invalid_credentials")
	requireCode(try("wrong-8"), http.StatusBadRequest, "invalid_credentials")
	again := try("wrong-9")
	requireCode(again, http.StatusTooManyRequests, "user_locked")
	require.Equal(t, "120", again.Header.Get("Retry-After"))

	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM auth.security_events WHERE type = 'account_locked' AND user_id IS NOT NULL`))
	require.Equal(t, 9, e.count(t, `SELECT count(*) FROM auth.security_events WHERE type = 'sign_in_failed' AND ip = '127.0.0.1'`))
}

func TestUnknownAddressesLockLikeRealOnes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(lockoutConfig))
	for i, want := range []int{http.StatusBadRequest, http.StatusBadRequest, http.StatusTooManyRequests, http.StatusTooManyRequests} {
		status, body := e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": emailFor(t, "ghost"), "password": "x"}, "")
		require.Equal(t, want, status, "attempt %d: %v", i+1, body)
	}
}

func TestDetectorFlagsOneAddressFailingAcrossAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{
		cfg:     func(c *auth.Config) { c.DetectorAccounts = 3; c.DetectorWindow = 10 * time.Minute },
		gateway: gateway.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
	})
	e.signUpConfirmed(t, emailFor(t, "real"))
	fail := func(from, email string) {
		t.Helper()
		res := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password",
			Body:   map[string]any{"email": email, "password": "guess"},
			Header: http.Header{"X-Forwarded-For": {from}}})
		require.Equal(t, http.StatusBadRequest, res.Status)
	}
	alerts := func(ip string) int {
		return e.count(t, `SELECT count(*) FROM auth.security_events WHERE type = 'suspicious_activity' AND ip = $1 AND severity = 'critical'`, ip)
	}

	// The same account many times is the lockout's business, not the detector's.
	for range 2 {
		fail("203.0.113.7", emailFor(t, "real"))
	}
	fail("203.0.113.7", emailFor(t, "other-1"))
	require.Equal(t, 0, alerts("203.0.113.7"))

	// A third distinct account from the same address raises one alert; more do not repeat it.
	fail("203.0.113.7", emailFor(t, "other-2"))
	require.Equal(t, 1, alerts("203.0.113.7"))
	fail("203.0.113.7", emailFor(t, "other-3"))
	require.Equal(t, 1, alerts("203.0.113.7"))

	// Another address has its own count.
	fail("198.51.100.1", emailFor(t, "other-4"))
	require.Equal(t, 0, alerts("198.51.100.1"))
}
