package auth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
)

// TestJWTSecretRotationKeepsMFA: after `goforward keys rotate-jwt-secret` the node restarts
// with a new secret and the old one as previous. Sessions signed with the old secret keep
// working through the grace period, the TOTP secrets are re-sealed with the new secret's key,
// and once the old secret is gone altogether the user still signs in with their second factor.
func TestJWTSecretRotationKeepsMFA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	before := newMFAEnv(t)
	email := emailFor(t, "mfa")
	oldSession, factor := before.mfaUser(t, email)

	const newSecret = "a-new-secret-of-at-least-32-characters-for-rotation"
	issued := time.Now().Add(-time.Minute)
	rotated, err := security.NewKeys([]byte(newSecret), "", issued,
		security.WithPreviousSecret([]byte(servicetest.Secret), time.Now().Add(time.Hour)))
	require.NoError(t, err)
	var res auth.Reencrypted
	require.NoError(t, pgx.BeginFunc(ctx, before.DB.Pool, func(tx pgx.Tx) error {
		res, err = auth.ReencryptMFASecrets(ctx, tx, rotated)
		return err
	}))
	require.Equal(t, auth.Reencrypted{Resealed: 1}, res)

	// Within the grace period: the session from before the rotation still works.
	during := newEnv(t, options{keys: rotated, db: before.DB})
	status, body := during.call(t, "GET", "/auth/v1/user", nil, oldSession.AccessToken)
	require.Equal(t, http.StatusOK, status, "a session of the old secret within the grace period: %v", body)

	// Long after: only the new secret is known, and MFA still works.
	after, err := security.NewKeys([]byte(newSecret), "", issued)
	require.NoError(t, err)
	later := newEnv(t, options{keys: after, db: before.DB})
	status, body = later.call(t, "GET", "/auth/v1/user", nil, oldSession.AccessToken)
	require.Equal(t, http.StatusForbidden, status, "the old secret's tokens end with the grace period: %v", body)
	require.Equal(t, "bad_jwt", body["code"])
	s := later.signIn(t, email)
	status, body = later.verifyCode(t, s.AccessToken, factor.ID, later.challenge(t, s.AccessToken, factor.ID), totpCode(t, factor.Secret, later.clock.Now()))
	upgraded := sessionOf(t, status, body)
	require.Equal(t, "aal2", claimsOf(t, upgraded.AccessToken)["aal"])

	// Running it again changes nothing.
	require.NoError(t, pgx.BeginFunc(ctx, before.DB.Pool, func(tx pgx.Tx) error {
		res, err = auth.ReencryptMFASecrets(ctx, tx, rotated)
		return err
	}))
	require.Equal(t, auth.Reencrypted{}, res)
}
