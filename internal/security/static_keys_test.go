package security_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/security"
)

func TestStaticKeysVerifyLikeTheFullParse(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	for _, token := range []string{k.AnonKey(), k.ServiceRoleKey()} {
		want, err := k.VerifyUncached(token)
		require.NoError(t, err)
		got, err := k.Verify(token)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

// Not parallel: testing.AllocsPerRun counts the whole process's allocations.
func TestStaticKeysSkipTheHMAC(t *testing.T) {
	k := newKeys(t)
	anon := k.AnonKey()
	var err error
	// The full parse allocates ~55 times; a recognised static key only copies its claims.
	allocs := testing.AllocsPerRun(100, func() { _, err = k.Verify(anon) })
	require.NoError(t, err)
	require.LessOrEqual(t, allocs, 3.0)
}

func TestExpiredStaticKeyIsRefused(t *testing.T) {
	t.Parallel()
	issuedAt := time.Now()
	k, err := security.NewKeys(testSecret, "", issuedAt)
	require.NoError(t, err)
	_, err = k.Verify(k.AnonKey())
	require.NoError(t, err)

	expiry := issuedAt.AddDate(10, 0, 0)
	k.SetClock(func() time.Time { return expiry.Add(security.Leeway / 2) })
	_, err = k.Verify(k.ServiceRoleKey())
	require.NoError(t, err, "exp is checked with the same leeway as the full parse")

	k.SetClock(func() time.Time { return expiry.Add(security.Leeway + time.Second) })
	for _, token := range []string{k.AnonKey(), k.ServiceRoleKey()} {
		_, err = k.Verify(token)
		require.ErrorIs(t, err, security.ErrTokenExpired)
	}
}

func TestStaticKeyPrincipalCannotBeChangedByCallers(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	first, err := k.Verify(k.AnonKey())
	require.NoError(t, err)
	original := string(first.Claims)
	for i := range first.Claims {
		first.Claims[i] = 'x'
	}

	second, err := k.Verify(k.AnonKey())
	require.NoError(t, err)
	require.Equal(t, original, string(second.Claims))
}

func TestStaticKeyLookalikesAreVerifiedInFull(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	anon := k.AnonKey()
	// Same length, one signature character changed: not the cached key, so the full parse
	// must reject it.
	last := anon[len(anon)-2]
	swapped := byte('A')
	if last == 'A' {
		swapped = 'B'
	}
	forged := anon[:len(anon)-2] + string(swapped) + anon[len(anon)-1:]
	_, err := k.Verify(forged)
	require.ErrorIs(t, err, security.ErrTokenInvalid)
}
