package signingkeys_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/signingkeys"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	secret    = []byte("0123456789abcdef0123456789abcdef")
	newSecret = []byte("fedcba9876543210fedcba9876543210")
	cli       = audit.Actor{Type: audit.ActorCLI}
)

func newKeys(t *testing.T, opts ...security.Option) *security.Keys {
	t.Helper()
	k, err := security.NewKeys(secret, "", time.Unix(1_700_000_000, 0), opts...)
	require.NoError(t, err)
	return k
}

func userToken(t *testing.T, keys *security.Keys) string {
	t.Helper()
	token, err := keys.SignAccessToken(jwt.MapClaims{"sub": "u1", "role": "authenticated", "exp": time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)
	return token
}

func kidOf(t *testing.T, token string) (alg, kid string) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	require.NoError(t, err)
	var h struct{ Alg, Kid string }
	require.NoError(t, json.Unmarshal(raw, &h))
	return h.Alg, h.Kid
}

func inTx(t *testing.T, db *pgtest.Database, fn func(tx pgx.Tx) error) {
	t.Helper()
	require.NoError(t, pgx.BeginFunc(context.Background(), db.Pool, fn))
}

func TestSeedRotateRevoke(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	keys := newKeys(t)

	var seeded bool
	inTx(t, db, func(tx pgx.Tx) (err error) {
		seeded, err = signingkeys.Seed(ctx, tx, keys, security.AlgES256)
		return err
	})
	require.True(t, seeded)
	inTx(t, db, func(tx pgx.Tx) (err error) {
		seeded, err = signingkeys.Seed(ctx, tx, keys, security.AlgES256)
		return err
	})
	require.False(t, seeded, "a database that has keys is not seeded again")

	// Private keys are sealed at rest: the column holds no PKCS #8 in the clear.
	var sealed []string
	rows, err := db.Pool.Query(ctx, `SELECT private_key FROM goforward.signing_keys`)
	require.NoError(t, err)
	sealed, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, sealed, 2)
	for _, s := range sealed {
		require.True(t, strings.HasPrefix(s, "gf1:"))
	}

	ring, err := signingkeys.Load(ctx, db.Pool, keys)
	require.NoError(t, err)
	keys.SetKeyRing(ring)
	listed, err := signingkeys.List(ctx, db.Pool, false)
	require.NoError(t, err)
	require.Len(t, listed, 2)
	require.Equal(t, security.KeyCurrent, listed[0].Status)
	require.Equal(t, security.KeyStandby, listed[1].Status)
	first := userToken(t, keys)
	alg, kid := kidOf(t, first)
	require.Equal(t, "ES256", alg)
	require.Equal(t, listed[0].ID, kid)

	// Rotation: the standby key signs, the current one only verifies.
	var rot signingkeys.Rotation
	inTx(t, db, func(tx pgx.Tx) (err error) {
		rot, err = signingkeys.Rotate(ctx, tx, keys, "", cli, audit.Client{})
		return err
	})
	require.Equal(t, listed[1].ID, rot.Current.ID)
	require.Len(t, rot.Previous, 1)
	require.Equal(t, listed[0].ID, rot.Previous[0].ID)
	ring, err = signingkeys.Load(ctx, db.Pool, keys)
	require.NoError(t, err)
	keys.SetKeyRing(ring)
	second := userToken(t, keys)
	_, kid = kidOf(t, second)
	require.Equal(t, rot.Current.ID, kid)
	_, err = keys.Verify(first)
	require.NoError(t, err, "the previous key's tokens stay valid")
	require.Contains(t, string(keys.JWKS()), rot.Standby.ID, "the new standby key is published before it signs")

	// Revoking the previous keys refuses their tokens.
	var revoked []signingkeys.Key
	inTx(t, db, func(tx pgx.Tx) (err error) {
		revoked, err = signingkeys.RevokePrevious(ctx, tx, cli, audit.Client{})
		return err
	})
	require.Len(t, revoked, 1)
	ring, err = signingkeys.Load(ctx, db.Pool, keys)
	require.NoError(t, err)
	keys.SetKeyRing(ring)
	_, err = keys.Verify(first)
	require.ErrorIs(t, err, security.ErrUnknownKeyID)
	_, err = keys.Verify(second)
	require.NoError(t, err)
	require.NotContains(t, string(keys.JWKS()), listed[0].ID)

	// Both changes are audited.
	var actions []string
	rows, err = db.Pool.Query(ctx, `SELECT action FROM goforward.audit_log WHERE action LIKE 'signing_key.%' ORDER BY id`)
	require.NoError(t, err)
	actions, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"signing_key.rotate", "signing_key.revoke"}, actions)
}

func TestFirstRotationFromHS256AndRSA(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	keys := newKeys(t)
	hs := userToken(t, keys)
	alg, _ := kidOf(t, hs)
	require.Equal(t, "HS256", alg)

	var rot signingkeys.Rotation
	inTx(t, db, func(tx pgx.Tx) (err error) {
		rot, err = signingkeys.Rotate(ctx, tx, keys, security.AlgRS256, cli, audit.Client{})
		return err
	})
	require.Equal(t, security.AlgRS256, rot.Current.Algorithm)
	require.Equal(t, security.AlgRS256, rot.Standby.Algorithm)
	require.Empty(t, rot.Previous)
	ring, err := signingkeys.Load(ctx, db.Pool, keys)
	require.NoError(t, err)
	keys.SetKeyRing(ring)
	alg, _ = kidOf(t, userToken(t, keys))
	require.Equal(t, "RS256", alg)
	_, err = keys.Verify(hs)
	require.NoError(t, err, "HS256 sessions keep working after the move")

	inTx(t, db, func(tx pgx.Tx) error {
		_, err := signingkeys.Rotate(ctx, tx, keys, "PS256", cli, audit.Client{})
		require.ErrorIs(t, err, signingkeys.ErrUnknownAlgorithm)
		return nil
	})
}

func TestRingChangesReachEveryNode(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodeA, nodeB := newKeys(t), newKeys(t)
	inTx(t, db, func(tx pgx.Tx) error { _, err := signingkeys.Seed(ctx, tx, nodeA, security.AlgES256); return err })
	done := make(chan struct{}, 2)
	for _, k := range []*security.Keys{nodeA, nodeB} {
		w := &signingkeys.Watcher{Pool: db.Pool, Keys: k, ResyncInterval: time.Hour}
		require.NoError(t, w.Load(ctx))
		go func() { _ = w.Run(ctx); done <- struct{}{} }()
	}
	defer func() { cancel(); <-done; <-done }()
	token := userToken(t, nodeA)
	_, err := nodeB.Verify(token)
	require.NoError(t, err)

	// Rotate and revoke on "node A": node B refuses the old key's token without restarting.
	inTx(t, db, func(tx pgx.Tx) error {
		if _, err := signingkeys.Rotate(ctx, tx, nodeA, "", cli, audit.Client{}); err != nil {
			return err
		}
		_, err := signingkeys.RevokePrevious(ctx, tx, cli, audit.Client{})
		return err
	})
	require.Eventually(t, func() bool {
		_, err := nodeB.Verify(token)
		return err != nil
	}, 10*time.Second, 5*time.Millisecond)
	_, err = nodeB.Verify(token)
	require.ErrorIs(t, err, security.ErrUnknownKeyID)
}

func TestJWTSecretRotationResealsPrivateKeys(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	keys := newKeys(t)
	inTx(t, db, func(tx pgx.Tx) error { _, err := signingkeys.Seed(ctx, tx, keys, security.AlgES256); return err })

	// Another secret alone opens nothing.
	stranger, err := security.NewKeys(newSecret, "", time.Unix(1_700_000_000, 0))
	require.NoError(t, err)
	_, err = signingkeys.Load(ctx, db.Pool, stranger)
	require.Error(t, err)

	rotated, err := security.NewKeys(newSecret, "", time.Unix(1_700_000_000, 0), security.WithPreviousSecret(secret, time.Now().Add(time.Hour)))
	require.NoError(t, err)
	var n int
	inTx(t, db, func(tx pgx.Tx) (err error) { n, err = signingkeys.Reseal(ctx, tx, rotated); return err })
	require.Equal(t, 2, n)
	_, err = signingkeys.Load(ctx, db.Pool, stranger)
	require.NoError(t, err, "after the re-seal the new secret alone opens the keys")
}
