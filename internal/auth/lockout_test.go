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

	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.account_locked' AND resource_id <> ''`))
	require.Equal(t, 9, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.sign_in_failed' AND ip = '127.0.0.1'`))
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
		return e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.suspicious_activity' AND ip = $1 AND severity = 'critical'`, ip)
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

// fromAddresses is an environment whose clients name their address in X-Forwarded-For.
func fromAddresses(t *testing.T, cfg func(*auth.Config)) *env {
	return newEnv(t, options{cfg: cfg, gateway: gateway.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
}

// signInFrom tries a password sign-in from the client address from and returns the status
// and error code.
func (e *env) signInFrom(t *testing.T, from, email, pw string) (int, string) {
	t.Helper()
	res := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password",
		Body: map[string]any{"email": email, "password": pw}, Header: http.Header{"X-Forwarded-For": {from}}})
	return res.Status, res.Header.Get("x-sb-error-code")
}

func TestWrongPasswordsFromElsewhereDoNotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	e := fromAddresses(t, func(c *auth.Config) {
		lockoutConfig(c)
		c.LockoutAccountAttempts = 6
	})
	email := emailFor(t, "owner")
	e.signUpConfirmed(t, email) // the owner signs in from 127.0.0.1
	const owner = "127.0.0.1"
	requireSignIn := func(from, pw string, wantStatus int, wantCode string) {
		t.Helper()
		status, code := e.signInFrom(t, from, email, pw)
		require.Equal(t, wantStatus, status, "from %s", from)
		require.Equal(t, wantCode, code, "from %s", from)
	}

	// Someone guessing from one address locks only that address out, the right password too.
	requireSignIn("203.0.113.7", "guess-1", http.StatusBadRequest, "invalid_credentials")
	requireSignIn("203.0.113.7", "guess-2", http.StatusBadRequest, "invalid_credentials")
	requireSignIn("203.0.113.7", "guess-3", http.StatusTooManyRequests, "user_locked")
	requireSignIn("203.0.113.7", password, http.StatusTooManyRequests, "user_locked")
	// The owner, and anyone else, is not affected.
	requireSignIn(owner, password, http.StatusOK, "")
	requireSignIn("192.0.2.50", password, http.StatusOK, "")

	// Guesses spread over addresses lock the account once LockoutAccountAttempts is reached,
	// for every address it has not signed in from ...
	for _, from := range []string{"203.0.113.8", "203.0.113.9"} {
		requireSignIn(from, "guess-a", http.StatusBadRequest, "invalid_credentials")
		requireSignIn(from, "guess-b", http.StatusBadRequest, "invalid_credentials")
	}
	requireSignIn("203.0.113.10", "guess-a", http.StatusBadRequest, "invalid_credentials")
	requireSignIn("203.0.113.10", "guess-b", http.StatusTooManyRequests, "user_locked")
	requireSignIn("198.51.100.77", password, http.StatusTooManyRequests, "user_locked")
	// ... but the owner gets in from an address the account knows, which clears the count.
	requireSignIn(owner, password, http.StatusOK, "")
	requireSignIn("198.51.100.77", password, http.StatusOK, "")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.account_locked' AND details ->> 'scope' = 'account'`))

	// An IPv6 client is counted by its /64: other addresses of it are locked with it.
	requireSignIn("2001:db8:1:2::1", "guess-1", http.StatusBadRequest, "invalid_credentials")
	requireSignIn("2001:db8:1:2::2", "guess-2", http.StatusBadRequest, "invalid_credentials")
	requireSignIn("2001:db8:1:2:ffff::3", "guess-3", http.StatusTooManyRequests, "user_locked")
	requireSignIn("2001:db8:1:2::4", password, http.StatusTooManyRequests, "user_locked")
	requireSignIn("2001:db8:1:3::1", password, http.StatusOK, "")
}

func TestUnknownAddressesLockAccountWideLikeRealOnes(t *testing.T) {
	t.Parallel()
	e := fromAddresses(t, func(c *auth.Config) {
		lockoutConfig(c)
		c.LockoutAccountAttempts = 4
	})
	real, ghost := emailFor(t, "real"), emailFor(t, "ghost")
	e.signUpConfirmed(t, real)
	for _, email := range []string{real, ghost} {
		var got []string
		for _, from := range []string{"203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2", "203.0.113.3"} {
			_, code := e.signInFrom(t, from, email, "guess")
			got = append(got, code)
		}
		require.Equal(t, []string{"invalid_credentials", "invalid_credentials", "invalid_credentials", "user_locked", "user_locked"}, got, email)
	}
}
