package servicetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/security"
)

// SigningKeyID is the kid of the ES256 key UseSigningKey installs.
const SigningKeyID = "servicetest-es256"

// UseSigningKey gives the environment's keys a ring with one current ES256 key, as a new
// data directory has: AsymmetricUserToken (and auth's sessions) are then signed with it.
func (e *Env) UseSigningKey(t testing.TB) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ring, err := security.NewKeyRing([]security.SigningKey{{
		ID: SigningKeyID, Algorithm: security.AlgES256, Status: security.KeyCurrent, Public: &priv.PublicKey, Private: priv,
	}})
	require.NoError(t, err)
	e.Keys.SetKeyRing(ring)
}

// AsymmetricUserToken is UserToken signed the way auth signs sessions
// (Keys.SignAccessToken): with the ring's current key when UseSigningKey was called.
func (e *Env) AsymmetricUserToken(t testing.TB, sub string, extra map[string]any) string {
	t.Helper()
	token, err := e.Keys.SignAccessToken(userClaims(sub, extra))
	require.NoError(t, err)
	return token
}

// ForgedUserTokens are tokens for sub that every service must refuse once UseSigningKey was
// called: signed by an ES256 key that is not in the ring (unknown kid, or the ring's kid),
// HS256 with the real secret but claiming the ring key's kid (algorithm confusion), and
// alg none.
func (e *Env) ForgedUserTokens(t testing.TB, sub string) map[string]string {
	t.Helper()
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	sign := func(method jwt.SigningMethod, kid string, key any) string {
		tok := jwt.NewWithClaims(method, userClaims(sub, nil))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	return map[string]string{
		"unknown kid":          sign(jwt.SigningMethodES256, "removed-key", stranger),
		"wrong key, known kid": sign(jwt.SigningMethodES256, SigningKeyID, stranger),
		"hs256 claiming es256": sign(jwt.SigningMethodHS256, SigningKeyID, []byte(Secret)),
		"alg none":             sign(jwt.SigningMethodNone, SigningKeyID, jwt.UnsafeAllowNoneSignatureType),
	}
}
