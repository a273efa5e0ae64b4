package auth

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/servicetest"
)

// newInternal runs the service for tests that look inside it.
func newInternal(t *testing.T, cfg Config) (*servicetest.Env, *Service) {
	t.Helper()
	var svc *Service
	env := servicetest.New(t, func(se *servicetest.Env) []gateway.Service {
		s, err := New(cfg, Deps{Pool: se.DB.Pool, Keys: se.Keys, Logger: se.Logger})
		require.NoError(t, err)
		svc = s
		return []gateway.Service{{Name: "auth", Prefix: Prefix, Mount: s.Mount, Open: OpenPaths}}
	})
	return env, svc
}

func TestUnknownAddressesCostABcryptComparisonToo(t *testing.T) {
	t.Parallel()
	env, svc := newInternal(t, Config{BcryptCost: 4, MailerAutoconfirm: true})
	signIn := func(email, password string) int {
		return env.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password",
			Body: map[string]any{"email": email, "password": password}}).Status
	}
	res := env.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/signup",
		Body: map[string]any{"email": "known@example.com", "password": "known-password"}})
	require.Equal(t, http.StatusOK, res.Status)

	require.Equal(t, http.StatusBadRequest, signIn("unknown@example.com", "whatever"))
	require.EqualValues(t, 1, svc.passwords.dummyCompares.Load(), "an unknown address is compared against the dummy hash")
	require.Equal(t, http.StatusBadRequest, signIn("known@example.com", "wrong-password"))
	require.EqualValues(t, 1, svc.passwords.dummyCompares.Load(), "a known one against its own hash")
	require.Equal(t, http.StatusOK, signIn("known@example.com", "known-password"))
}

func TestCleanupRemovesWhatCanNoLongerBeUsed(t *testing.T) {
	t.Parallel()
	now := time.Now()
	env, svc := newInternal(t, Config{BcryptCost: 4})
	svc.clock = func() time.Time { return now }
	res := env.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/otp", Body: map[string]any{"email": "later@example.com"}})
	require.Equal(t, http.StatusOK, res.Status)
	count := func() int {
		var n int
		require.NoError(t, env.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM auth.one_time_tokens`).Scan(&n))
		return n
	}
	sends := func() int {
		var n int
		require.NoError(t, env.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM auth.send_frequency`).Scan(&n))
		return n
	}
	require.NoError(t, svc.cleanup(t.Context()))
	require.Equal(t, 1, count(), "a live token stays")
	require.Equal(t, 1, sends(), "so does the record of a send within max_frequency")
	svc.clock = func() time.Time { return now.Add(DefaultEmailOTPExpiry + time.Hour) }
	require.NoError(t, svc.cleanup(t.Context()))
	require.Equal(t, 0, count())
	require.Equal(t, 0, sends())
}

func TestLockDurationDoublesUpToTheCap(t *testing.T) {
	t.Parallel()
	s := &Service{cfg: Config{LockoutDuration: time.Minute, LockoutMaxDuration: 5 * time.Minute}}
	var got []time.Duration
	for n := 1; n <= 5; n++ {
		got = append(got, s.lockDuration(n))
	}
	require.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}, got)
}
