package realtime_test

import (
	"sync"
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

// ringHooks stands in for the signing-key watcher: fire runs the hooks as a reload does.
type ringHooks struct {
	mu    sync.Mutex
	hooks []func()
}

func (r *ringHooks) OnReload(fn func()) { r.mu.Lock(); r.hooks = append(r.hooks, fn); r.mu.Unlock() }

func (r *ringHooks) fire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, fn := range r.hooks {
		fn()
	}
}

// TestChannelClosesWhenItsSigningKeyIsRevoked: a channel joined with an ES256 token is closed
// (system message, then phx_close) once the ring no longer has the token's key.
func TestChannelClosesWhenItsSigningKeyIsRevoked(t *testing.T) {
	t.Parallel()
	hooks := &ringHooks{}
	n := startNode(t, options{signingKeys: hooks})
	n.env.UseSigningKey(t)
	c := dial(t, n)
	_, reply := c.join("realtime:old-key", channelConfig{}, n.env.AsymmetricUserToken(t, userA, nil))
	require.Equal(t, "ok", reply.Status)

	// A rotation then a revocation: the old key is gone, a new one signs.
	n.env.UseSigningKey(t)
	fresh := n.env.AsymmetricUserToken(t, userA, nil)
	_, reply = c.join("realtime:new-key", channelConfig{}, fresh)
	require.Equal(t, "ok", reply.Status)
	hooks.fire()

	sys := c.expectSystem("realtime:old-key")
	require.Equal(t, "error", sys.Status)
	require.Equal(t, "Failed to validate JWT signature", sys.Message)
	c.expect(event("realtime:old-key", "phx_close"))
}
