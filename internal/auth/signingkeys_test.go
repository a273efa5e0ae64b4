package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
)

// TestSessionsSignedWithTheSigningKey: with an ES256 signing key, sessions are ES256 tokens
// naming the key, the JWKS publishes its public part, /user and refresh work with them, and
// tokens of an unknown key or of the wrong algorithm for the kid are GoTrue's 403 bad_jwt.
func TestSessionsSignedWithTheSigningKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.UseSigningKey(t)
	s := e.signUpConfirmed(t, emailFor(t, "es256"))
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(s.AccessToken, ".")[0])
	require.NoError(t, err)
	var header map[string]any
	require.NoError(t, json.Unmarshal(raw, &header))
	require.Equal(t, map[string]any{"alg": "ES256", "kid": servicetest.SigningKeyID, "typ": "JWT"}, header)

	status, body := e.call(t, "GET", "/auth/v1/.well-known/jwks.json", nil, "")
	require.Equal(t, http.StatusOK, status)
	keys := body["keys"].([]any)
	require.Len(t, keys, 1)
	jwk := keys[0].(map[string]any)
	require.Equal(t, servicetest.SigningKeyID, jwk["kid"])
	require.Equal(t, "EC", jwk["kty"])
	require.Equal(t, "P-256", jwk["crv"])
	require.NotContains(t, jwk, "d")

	status, body = e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, s.User["id"], body["id"])

	for _, token := range e.ForgedUserTokens(t, s.User["id"].(string)) {
		status, body := e.call(t, "GET", "/auth/v1/user", nil, token)
		requireError(t, status, body, http.StatusForbidden, "bad_jwt")
	}
}
