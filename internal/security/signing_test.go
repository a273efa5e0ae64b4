package security_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/security"
)

type ringKeys struct {
	es, esOther *ecdsa.PrivateKey
	rs          *rsa.PrivateKey
}

func newRingKeys(t testing.TB) ringKeys {
	t.Helper()
	es, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	esOther, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return ringKeys{es: es, esOther: esOther, rs: rs}
}

func (rk ringKeys) ring(t testing.TB, currentES bool) *security.KeyRing {
	t.Helper()
	esStatus, rsStatus := security.KeyCurrent, security.KeyPrevious
	if !currentES {
		esStatus, rsStatus = security.KeyPrevious, security.KeyCurrent
	}
	ring, err := security.NewKeyRing([]security.SigningKey{
		{ID: "es-key", Algorithm: security.AlgES256, Status: esStatus, Public: &rk.es.PublicKey, Private: rk.es},
		{ID: "rs-key", Algorithm: security.AlgRS256, Status: rsStatus, Public: &rk.rs.PublicKey, Private: rk.rs},
		{ID: "standby", Algorithm: security.AlgES256, Status: security.KeyStandby, Public: &rk.esOther.PublicKey},
	})
	require.NoError(t, err)
	return ring
}

func userClaims() jwt.MapClaims {
	return jwt.MapClaims{"sub": "u1", "role": "authenticated", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
}

func header(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	return h
}

func TestSignAccessTokenUsesTheCurrentKeyAndVerifiesByKid(t *testing.T) {
	t.Parallel()
	keys := newKeys(t)
	rk := newRingKeys(t)

	// Without a ring: HS256 with the secret's kid, which says nothing about the secret.
	hs, err := keys.SignAccessToken(userClaims())
	require.NoError(t, err)
	h := header(t, hs)
	require.Equal(t, "HS256", h["alg"])
	require.NotEmpty(t, h["kid"])
	require.NotContains(t, string(testSecret), h["kid"])
	_, err = keys.Verify(hs)
	require.NoError(t, err)
	require.JSONEq(t, `{"keys":[]}`, string(keys.JWKS()))

	keys.SetKeyRing(rk.ring(t, true))
	es, err := keys.SignAccessToken(userClaims())
	require.NoError(t, err)
	require.Equal(t, map[string]any{"alg": "ES256", "kid": "es-key", "typ": "JWT"}, header(t, es))
	p, err := keys.Verify(es)
	require.NoError(t, err)
	require.Equal(t, "u1", p.Subject)
	require.Equal(t, es, p.Token)
	// A cached verification answers the same.
	again, err := keys.Verify(es)
	require.NoError(t, err)
	require.Equal(t, p, again)
	// HS256 tokens issued before the move keep verifying.
	_, err = keys.Verify(hs)
	require.NoError(t, err)

	// Rotated to RS256: the ES256 key is previous, its tokens still verify.
	keys.SetKeyRing(rk.ring(t, false))
	rs, err := keys.SignAccessToken(userClaims())
	require.NoError(t, err)
	require.Equal(t, "RS256", header(t, rs)["alg"])
	require.Equal(t, "rs-key", header(t, rs)["kid"])
	_, err = keys.Verify(rs)
	require.NoError(t, err)
	_, err = keys.Verify(es)
	require.NoError(t, err)

	// The JWKS holds the three public keys and no secret.
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(keys.JWKS(), &set))
	require.Len(t, set.Keys, 3)
	require.Equal(t, "rs-key", set.Keys[0]["kid"], "the current key comes first")
	for _, k := range set.Keys {
		require.NotContains(t, k, "d")
		require.NotContains(t, k, "k")
		require.Equal(t, "sig", k["use"])
		require.Contains(t, []any{"EC", "RSA"}, k["kty"])
	}
	require.NotContains(t, string(keys.JWKS()), string(testSecret))
}

func TestRevokedKeyIsRefusedEvenWhenCached(t *testing.T) {
	t.Parallel()
	keys := newKeys(t)
	rk := newRingKeys(t)
	keys.SetKeyRing(rk.ring(t, true))
	es, err := keys.SignAccessToken(userClaims())
	require.NoError(t, err)
	_, err = keys.Verify(es) // now cached
	require.NoError(t, err)

	// The ES256 key revoked: only the RS256 key is left.
	ring, err := security.NewKeyRing([]security.SigningKey{
		{ID: "rs-key", Algorithm: security.AlgRS256, Status: security.KeyCurrent, Public: &rk.rs.PublicKey, Private: rk.rs},
	})
	require.NoError(t, err)
	keys.SetKeyRing(ring)
	_, err = keys.Verify(es)
	require.ErrorIs(t, err, security.ErrTokenInvalid)
	require.ErrorIs(t, err, security.ErrUnknownKeyID)
}

func TestAlgorithmConfusionIsRefused(t *testing.T) {
	t.Parallel()
	keys := newKeys(t)
	rk := newRingKeys(t)
	keys.SetKeyRing(rk.ring(t, true))

	signed := func(method jwt.SigningMethod, kid string, key any) string {
		tok := jwt.NewWithClaims(method, userClaims())
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&rk.es.PublicKey)
	require.NoError(t, err)

	cases := map[string]string{
		// HS256 keyed with the published public key, naming the ES256 key.
		"hs256 with the public key as secret": signed(jwt.SigningMethodHS256, "es-key", pubDER),
		// Even with the real secret, an HS256 token may not claim an asymmetric key's kid.
		"hs256 naming an es256 kid": signed(jwt.SigningMethodHS256, "es-key", testSecret),
		"none":                      signed(jwt.SigningMethodNone, "es-key", jwt.UnsafeAllowNoneSignatureType),
		"es256 under the rsa kid":   signed(jwt.SigningMethodES256, "rs-key", rk.es),
		"rs256 under the ec kid":    signed(jwt.SigningMethodRS256, "es-key", rk.rs),
		"unknown kid":               signed(jwt.SigningMethodES256, "nobody", rk.es),
		"no kid":                    signed(jwt.SigningMethodES256, "", rk.es),
		"key not in the ring":       signed(jwt.SigningMethodES256, "es-key", rk.esOther),
		"es384":                     signed(jwt.SigningMethodES384, "es-key", mustP384(t)),
	}
	for name, token := range cases {
		_, err := keys.Verify(token)
		require.ErrorIs(t, err, security.ErrTokenInvalid, name)
	}
}

func mustP384(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	return k
}

func TestCachedTokenExpires(t *testing.T) {
	t.Parallel()
	keys := newKeys(t)
	now := time.Now()
	keys.SetClock(func() time.Time { return now })
	rk := newRingKeys(t)
	keys.SetKeyRing(rk.ring(t, true))
	claims := userClaims()
	claims["exp"] = now.Add(time.Minute).Unix()
	token, err := keys.SignAccessToken(claims)
	require.NoError(t, err)
	_, err = keys.Verify(token)
	require.NoError(t, err)
	now = now.Add(time.Minute + security.Leeway + time.Second)
	_, err = keys.Verify(token)
	require.ErrorIs(t, err, security.ErrTokenExpired)
}

func TestNewKeyRingRefusesBadKeys(t *testing.T) {
	t.Parallel()
	rk := newRingKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p384 := mustP384(t)
	bad := map[string][]security.SigningKey{
		"two current": {
			{ID: "a", Algorithm: security.AlgES256, Status: security.KeyCurrent, Public: &rk.es.PublicKey, Private: rk.es},
			{ID: "b", Algorithm: security.AlgES256, Status: security.KeyCurrent, Public: &rk.esOther.PublicKey, Private: rk.esOther},
		},
		"current without private": {{ID: "a", Algorithm: security.AlgES256, Status: security.KeyCurrent, Public: &rk.es.PublicKey}},
		"mismatched private":      {{ID: "a", Algorithm: security.AlgES256, Status: security.KeyCurrent, Public: &rk.es.PublicKey, Private: rk.esOther}},
		"small rsa":               {{ID: "a", Algorithm: security.AlgRS256, Status: security.KeyStandby, Public: &small.PublicKey}},
		"p384 as es256":           {{ID: "a", Algorithm: security.AlgES256, Status: security.KeyStandby, Public: &p384.PublicKey}},
		"hs256":                   {{ID: "a", Algorithm: "HS256", Status: security.KeyStandby, Public: testSecret}},
		"duplicate id": {
			{ID: "a", Algorithm: security.AlgES256, Status: security.KeyStandby, Public: &rk.es.PublicKey},
			{ID: "a", Algorithm: security.AlgES256, Status: security.KeyPrevious, Public: &rk.esOther.PublicKey},
		},
	}
	for name, keys := range bad {
		_, err := security.NewKeyRing(keys)
		require.Error(t, err, name)
	}
}

// With legacy keys off and an asymmetric key signing, the HS256 secret verifies nothing:
// not the legacy keys, and not user tokens minted with it.
func TestLegacyKeysOffRetiresTheSecretOnceAKeySigns(t *testing.T) {
	t.Parallel()
	keys, err := security.NewKeys(testSecret, "", time.Now(), security.WithoutLegacyKeys())
	require.NoError(t, err)
	hs, err := keys.SignAccessToken(userClaims())
	require.NoError(t, err)
	_, err = keys.Verify(hs)
	require.NoError(t, err, "without a signing key HS256 still signs sessions, so it must verify them")

	keys.SetKeyRing(newRingKeys(t).ring(t, true))
	_, err = keys.Verify(hs)
	require.ErrorIs(t, err, security.ErrTokenInvalid)
	require.ErrorIs(t, err, security.ErrLegacyKeyDisabled)
	es, err := keys.SignAccessToken(userClaims())
	require.NoError(t, err)
	_, err = keys.Verify(es)
	require.NoError(t, err)
}
