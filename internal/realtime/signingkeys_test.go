package realtime_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAsymmetricUserTokensJoin: an ES256 user token verified by kid joins a channel; a token
// of an unknown key, of the wrong key under a known kid, or HS256 claiming the ES256 key's
// kid, is refused with Realtime's reasons.
func TestAsymmetricUserTokensJoin(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	n.env.UseSigningKey(t)
	c := dial(t, n)
	_, reply := c.join("realtime:es256", channelConfig{}, n.env.AsymmetricUserToken(t, userA, nil))
	require.Equal(t, "ok", reply.Status)

	reasons := map[string]string{
		"unknown kid":          "JwtSignatureError: Failed to validate JWT signature",
		"wrong key, known kid": "JwtSignatureError: Failed to validate JWT signature",
		"hs256 claiming es256": "MalformedJWT: The token provided is not a valid JWT",
		"alg none":             "JwtSignatureError: Failed to validate JWT signature",
	}
	for name, token := range n.env.ForgedUserTokens(t, userA) {
		_, reply := c.join("realtime:"+name, channelConfig{}, token)
		require.Equal(t, reasons[name], replyReason(t, reply), name)
	}
}
