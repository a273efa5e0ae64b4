package realtime_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/realtime/phoenix"
	"github.com/goforward/goforward/internal/security"
)

// TestOpaqueKeysJoinAsTheirRole: realtime-js sends the key it was created with as the
// channel's access_token until a user signs in; a Go Forward key there means the socket's
// own apikey, as an sb_ key does on Supabase.
func TestOpaqueKeysJoinAsTheirRole(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{apiKeys: true})
	for _, kind := range []string{security.KindPublishable, security.KindSecret} {
		key := n.env.CreateAPIKey(t, apikeys.NewKey{Name: kind, Kind: kind}).APIKey
		c := dial(t, n, dialOptions{key: key})
		_, reply := c.join("realtime:room-"+kind, channelConfig{}, key)
		require.Equal(t, "ok", reply.Status, "%s", reply.Response)
		ref := c.send("", "realtime:room-"+kind, "access_token", map[string]any{"access_token": key})
		ping := c.send("", "phoenix", "heartbeat", map[string]any{})
		require.False(t, c.seenBefore(event("realtime:room-"+kind, "phx_close"), func(m phoenix.Message) bool { return m.Ref == ping }),
			"the key as access_token (ref %s) keeps the channel open", ref)
	}
}

// TestRevokingAKeyClosesItsSockets: a socket opened with a key, or with a user's token under
// it, ends when the key is revoked; other sockets stay.
func TestRevokingAKeyClosesItsSockets(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{apiKeys: true})
	doomed := n.env.CreateAPIKey(t, apikeys.NewKey{Name: "doomed", Kind: security.KindPublishable})
	kept := n.env.CreateAPIKey(t, apikeys.NewKey{Name: "kept", Kind: security.KindPublishable}).APIKey
	byKey := dial(t, n, dialOptions{key: doomed.APIKey})
	other := dial(t, n, dialOptions{key: kept})
	for _, c := range []*client{byKey, other} {
		_, reply := c.join("realtime:room", channelConfig{}, "")
		require.Equal(t, "ok", reply.Status, "%s", reply.Response)
	}

	ctx := context.Background()
	require.NoError(t, pgx.BeginFunc(ctx, n.env.DB.Pool, func(tx pgx.Tx) error {
		_, err := apikeys.Revoke(ctx, tx, doomed.ID, audit.Actor{Type: audit.ActorCLI}, audit.Client{})
		return err
	}))
	require.NoError(t, n.env.APIKeys.Load(ctx), "what the NOTIFY of the revocation makes every node do")
	code, reason := byKey.waitClosed()
	require.Equal(t, 1008, code)
	require.Equal(t, "API key revoked", reason)
	_, reply := other.join("realtime:other", channelConfig{}, "")
	require.Equal(t, "ok", reply.Status, "a socket of another key stays: %s", reply.Response)
}

// TestKeyScopesAtTheSocket: a key whose services leave out realtime, or that is limited to
// some tables (realtime streams every table's changes), cannot open a socket; a revoked key
// neither.
func TestKeyScopesAtTheSocket(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{apiKeys: true})
	allowed := n.env.CreateAPIKey(t, apikeys.NewKey{Name: "realtime", Kind: security.KindPublishable,
		Scopes: security.KeyScope{Services: []string{"realtime"}}})
	restOnly := n.env.CreateAPIKey(t, apikeys.NewKey{Name: "rest", Kind: security.KindSecret,
		Scopes: security.KeyScope{Services: []string{"rest"}}}).APIKey
	tables := n.env.CreateAPIKey(t, apikeys.NewKey{Name: "tables", Kind: security.KindPublishable,
		Scopes: security.KeyScope{Tables: []string{"public.messages"}}}).APIKey

	c := dial(t, n, dialOptions{key: allowed.APIKey})
	_, reply := c.join("realtime:room", channelConfig{}, "")
	require.Equal(t, "ok", reply.Status, "%s", reply.Response)

	refused := func(name, key string, status int) {
		t.Helper()
		_, resp, err := tryDial(t, n, dialOptions{key: key})
		require.Error(t, err, name)
		require.NotNil(t, resp, name)
		require.Equal(t, status, resp.StatusCode, name)
	}
	refused("services without realtime", restOnly, http.StatusForbidden)
	refused("limited to tables", tables, http.StatusForbidden)

	ctx := context.Background()
	require.NoError(t, pgx.BeginFunc(ctx, n.env.DB.Pool, func(tx pgx.Tx) error {
		_, err := apikeys.Revoke(ctx, tx, allowed.ID, audit.Actor{Type: audit.ActorCLI}, audit.Client{})
		return err
	}))
	require.NoError(t, n.env.APIKeys.Load(ctx))
	refused("revoked", allowed.APIKey, http.StatusUnauthorized)
}

// tokenExpiringIn signs a user token that expires after d (negative: expired d ago).
func tokenExpiringIn(t *testing.T, n *node, d time.Duration) string {
	t.Helper()
	now := time.Now()
	return n.env.UserToken(t, userA, map[string]any{"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(d).Unix()})
}

func replyReason(t *testing.T, r replyPayload) string {
	t.Helper()
	require.Equal(t, "error", r.Status)
	var body map[string]string
	require.NoError(t, json.Unmarshal(r.Response, &body))
	return body["reason"]
}

func TestExpiredTokensCannotJoin(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	// Expired by more than the gateway's leeway, and by less: realtime allows none.
	for _, ago := range []time.Duration{10 * time.Minute, 5 * time.Second} {
		_, reply := c.join("realtime:room", channelConfig{}, tokenExpiringIn(t, n, -ago))
		require.Regexp(t, `^InvalidJWTToken: Token has expired \d+ seconds ago$`, replyReason(t, reply))
	}
}

func TestTokenClaimsAreChecked(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)

	noExp, err := n.env.Keys.Sign(jwt.MapClaims{"role": "authenticated", "sub": userA})
	require.NoError(t, err)
	_, reply := c.join("realtime:a", channelConfig{}, noExp)
	require.Equal(t, "InvalidJWTToken: Fields `role` and `exp` are required in JWT", replyReason(t, reply))

	otherKeys, err := security.NewKeys([]byte("another-secret-0123456789abcdef0123456789"), "", time.Unix(1_700_000_000, 0))
	require.NoError(t, err)
	_, reply = c.join("realtime:b", channelConfig{}, otherKeys.AnonKey())
	require.Equal(t, "JwtSignatureError: Failed to validate JWT signature", replyReason(t, reply))

	superuser, err := n.env.Keys.Sign(jwt.MapClaims{"role": "postgres", "exp": time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)
	_, reply = c.join("realtime:c", channelConfig{}, superuser)
	require.Contains(t, replyReason(t, reply), "InvalidJWTToken: The role claim must be")
}

func TestChannelClosesWhenItsTokenExpires(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	joinRef, reply := c.join("realtime:room", channelConfig{}, tokenExpiringIn(t, n, 2*time.Second))
	require.Equal(t, "ok", reply.Status)

	sys := c.expectSystem("realtime:room")
	require.Equal(t, "system", sys.Extension)
	require.Equal(t, "error", sys.Status)
	require.Regexp(t, `^Token has expired \d+ seconds ago$`, sys.Message)
	require.Equal(t, "room", sys.Channel)
	closed := c.expect(event("realtime:room", "phx_close"))
	require.Equal(t, joinRef, closed.Ref)

	// The socket stays usable.
	ref := c.send("", "phoenix", "heartbeat", map[string]any{})
	require.Equal(t, "ok", c.awaitReply("phoenix", ref).Status)
}

func TestRefreshedTokenKeepsTheChannelOpen(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	joinRef, _ := c.join("realtime:room", channelConfig{}, tokenExpiringIn(t, n, 2*time.Second))
	c.send(joinRef, "realtime:room", "access_token", map[string]any{"access_token": tokenExpiringIn(t, n, time.Hour)})
	time.Sleep(3 * time.Second) // past the first token's expiry
	require.False(t, c.seenBefore(event("realtime:room", "system"), heartbeatReply(c)))
	require.False(t, c.seenBefore(event("realtime:room", "phx_close"), heartbeatReply(c)))
}

func TestRefreshWithAnExpiredTokenClosesTheChannel(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	joinRef, _ := c.join("realtime:room", channelConfig{}, tokenExpiringIn(t, n, time.Hour))
	c.send(joinRef, "realtime:room", "access_token", map[string]any{"access_token": tokenExpiringIn(t, n, -time.Minute)})
	sys := c.expectSystem("realtime:room")
	require.Regexp(t, `^Token has expired \d+ seconds ago$`, sys.Message)
	c.expect(event("realtime:room", "phx_close"))
}
