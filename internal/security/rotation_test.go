package security_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/security"
)

// TestPreviousSecretIsAcceptedUntilItsDeadline: after a rotation, tokens signed with the old
// secret (sessions, the old anon key) verify until the grace period ends, and no longer.
func TestPreviousSecretIsAcceptedUntilItsDeadline(t *testing.T) {
	t.Parallel()
	issued := time.Now().Add(-time.Hour)
	old, err := security.NewKeys(testSecret, "", issued)
	require.NoError(t, err)
	session, err := old.Sign(jwt.MapClaims{"sub": "u1", "role": "authenticated", "exp": time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)

	deadline := time.Now().Add(10 * time.Minute)
	rotated, err := security.NewKeys(otherKey, "", issued, security.WithPreviousSecret(testSecret, deadline))
	require.NoError(t, err)
	require.NotEqual(t, old.AnonKey(), rotated.AnonKey(), "the legacy keys are signed anew")

	for _, token := range []string{session, old.AnonKey(), old.ServiceRoleKey(), rotated.AnonKey()} {
		_, err := rotated.Verify(token)
		require.NoError(t, err)
	}
	p, err := rotated.Verify(session)
	require.NoError(t, err)
	require.Equal(t, "u1", p.Subject)

	rotated.SetClock(func() time.Time { return deadline.Add(time.Second) })
	for _, token := range []string{session, old.AnonKey(), old.ServiceRoleKey()} {
		_, err := rotated.Verify(token)
		require.ErrorIs(t, err, security.ErrTokenInvalid)
	}
	_, err = rotated.Verify(rotated.AnonKey())
	require.NoError(t, err)

	// Whatever the deadline, values derived from the previous secret can still be derived.
	fromOld, err := old.Sign(jwt.MapClaims{"purpose": "x"})
	require.NoError(t, err)
	fromPrevious, err := rotated.SignWithPreviousSecret(jwt.MapClaims{"purpose": "x"})
	require.NoError(t, err)
	require.Equal(t, fromOld, fromPrevious)
	_, err = old.SignWithPreviousSecret(jwt.MapClaims{"purpose": "x"})
	require.ErrorIs(t, err, security.ErrNoPreviousSecret)
}

func TestZeroGraceAcceptsNothingFromThePreviousSecret(t *testing.T) {
	t.Parallel()
	old := newKeys(t)
	rotated, err := security.NewKeys(otherKey, "", time.Now(), security.WithPreviousSecret(testSecret, time.Time{}))
	require.NoError(t, err)
	_, err = rotated.Verify(old.ServiceRoleKey())
	require.ErrorIs(t, err, security.ErrTokenInvalid)
	require.True(t, rotated.HasPreviousSecret())
}

func TestLegacyKeysCanBeDisabled(t *testing.T) {
	t.Parallel()
	k, err := security.NewKeys(testSecret, "", time.Now(), security.WithoutLegacyKeys())
	require.NoError(t, err)
	minted, err := k.Sign(jwt.MapClaims{"role": "service_role", "exp": time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)
	for _, token := range []string{k.AnonKey(), k.ServiceRoleKey(), minted} {
		_, err := k.Verify(token)
		require.ErrorIs(t, err, security.ErrTokenInvalid)
		require.True(t, errors.Is(err, security.ErrLegacyKeyDisabled))
	}
	user, err := k.Sign(jwt.MapClaims{"sub": "u1", "role": "authenticated", "exp": time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)
	_, err = k.Verify(user)
	require.NoError(t, err)
}

func TestAPIKeysAreRandomAndRecognisable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		key, err := security.GenerateAPIKey(security.KindSecret)
		require.NoError(t, err)
		require.Regexp(t, `^gf_sec_[0-9A-Za-z]{43}$`, key)
		require.True(t, security.IsAPIKey(key))
		require.False(t, seen[key])
		seen[key] = true
	}
	pub, err := security.GenerateAPIKey(security.KindPublishable)
	require.NoError(t, err)
	require.Regexp(t, `^gf_pub_[0-9A-Za-z]{43}$`, pub)
	require.Equal(t, pub[:13], security.APIKeyShownPrefix(pub))
	_, err = security.GenerateAPIKey("root")
	require.Error(t, err)
	require.False(t, security.IsAPIKey(newKeys(t).AnonKey()))
}

func TestKeyScope(t *testing.T) {
	t.Parallel()
	all := security.KeyScope{}
	rest := security.KeyScope{Services: []string{"rest"}, Tables: []string{"public.posts", "audit.*"}}
	require.True(t, all.AllowsService("admin"))
	require.True(t, all.AllowsTable("private", "secrets"))
	require.False(t, rest.AllowsService("storage"))
	require.True(t, rest.AllowsTable("public", "posts"))
	require.False(t, rest.AllowsTable("public", "users"))
	require.True(t, rest.AllowsTable("audit", "anything"))
	tablesOnly := security.KeyScope{Tables: []string{"public.posts"}}
	require.True(t, tablesOnly.AllowsService("rest"))
	require.True(t, tablesOnly.AllowsService("storage"))
	for _, blind := range []string{"admin", "meta", "realtime"} {
		require.False(t, tablesOnly.AllowsService(blind), "%s reaches every table", blind)
	}

	require.True(t, all.Covers(rest))
	require.False(t, rest.Covers(all))
	require.True(t, rest.Covers(security.KeyScope{Services: []string{"rest"}, Tables: []string{"audit.x", "public.posts"}}))
	require.True(t, rest.Covers(security.KeyScope{Services: []string{"rest"}, Tables: []string{"audit.*"}}))
	require.False(t, rest.Covers(security.KeyScope{Services: []string{"rest"}, Tables: []string{"public.*"}}))
	require.False(t, rest.Covers(security.KeyScope{Services: []string{"rest", "auth"}, Tables: []string{"public.posts"}}))
}
