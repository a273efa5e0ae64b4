package realtime_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/servicetest"
)

// privateRooms lets each user read and broadcast (but not track presence) on the private
// channel room-<their id>, as Supabase's documentation shows.
func privateRooms(t *testing.T, n *node) {
	t.Helper()
	n.exec(t, `CREATE POLICY own_room_read ON realtime.messages FOR SELECT TO authenticated
		USING (realtime.topic() = 'room-' || auth.uid()::text)`)
	n.exec(t, `CREATE POLICY own_room_send ON realtime.messages FOR INSERT TO authenticated
		WITH CHECK (realtime.topic() = 'room-' || auth.uid()::text AND extension = 'broadcast')`)
}

func privateConfig() channelConfig {
	return channelConfig{Private: true, Broadcast: map[string]any{"ack": true}}
}

func TestPrivateChannelsFollowTheirPolicies(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	privateRooms(t, n)
	room := "realtime:room-" + userA
	tokenA, tokenB := n.env.UserToken(t, userA, nil), n.env.UserToken(t, userB, nil)

	for name, token := range map[string]string{"anon": "", "another user": tokenB} {
		c := dial(t, n)
		_, reply := c.join(room, privateConfig(), token)
		require.Equal(t, "Unauthorized: You do not have permissions to read from this Channel topic: room-"+userA, replyReason(t, reply), name)
	}

	owner, ownerElsewhere, public := dial(t, n), dial(t, n), dial(t, n)
	ownerRef, reply := owner.join(room, privateConfig(), tokenA)
	require.Equal(t, "ok", reply.Status)
	ownerElsewhere.join(room, privateConfig(), tokenA)
	public.join(room, channelConfig{}, "")

	ref := owner.send(ownerRef, room, "broadcast", broadcastMsg("secret", map[string]any{"n": 1}))
	require.Equal(t, "ok", owner.awaitReply(room, ref).Status)
	ownerElsewhere.expect(broadcastEvent(room, "secret"))
	require.False(t, public.seenBefore(broadcastEvent(room, "secret"), heartbeatReply(public)),
		"a public channel of the same name is another channel")

	// The policies allow no presence.
	ref = owner.send(ownerRef, room, "presence", map[string]any{"type": "presence", "event": "track", "payload": map[string]any{}})
	require.Contains(t, replyReason(t, owner.awaitReply(room, ref)), "Unauthorized")

	// Server-side broadcasts need the same right.
	body := map[string]any{"messages": []map[string]any{{"topic": "room-" + userA, "event": "rest", "payload": map[string]any{}, "private": true}}}
	resp := n.env.Do(t, servicetest.Request{Method: http.MethodPost, Path: realtime.Prefix + "/api/broadcast", Body: body, Token: tokenB})
	require.Equal(t, http.StatusForbidden, resp.Status, string(resp.Body))
	resp = n.env.Do(t, servicetest.Request{Method: http.MethodPost, Path: realtime.Prefix + "/api/broadcast", Body: body, Token: tokenA})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	owner.expect(broadcastEvent(room, "rest"))
	resp = n.env.Do(t, servicetest.Request{Method: http.MethodPost, Path: realtime.Prefix + "/api/broadcast/room-" + userA + "/events/svc?private=true",
		Body: map[string]any{}, Key: n.env.ServiceRoleKey()})
	require.Equal(t, http.StatusAccepted, resp.Status, "service_role bypasses the policies")
	owner.expect(broadcastEvent(room, "svc"))
}

func TestPrivateChannelClosesWhenARefreshLosesReadAccess(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	privateRooms(t, n)
	room := "realtime:room-" + userA
	c := dial(t, n)
	joinRef, reply := c.join(room, privateConfig(), n.env.UserToken(t, userA, nil))
	require.Equal(t, "ok", reply.Status)
	c.send(joinRef, room, "access_token", map[string]any{"access_token": n.env.UserToken(t, userB, nil)})
	sys := c.expectSystem(room)
	require.Equal(t, "You no longer have permission to read from this Channel topic: room-"+userA, sys.Message)
	c.expect(event(room, "phx_close"))
}

// Policies run as the caller's role on the authenticator's connection, as every request
// does, never on the owner's (a superuser): SQL a policy calls could otherwise RESET ROLE
// its way to the owner's privileges.
func TestPrivateChannelPoliciesRunOnTheAuthenticatorConnection(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	n.exec(t, `CREATE POLICY only_via_authenticator ON realtime.messages FOR SELECT TO authenticated
		USING (realtime.topic() = 'probe-room' AND session_user = 'authenticator')`)
	n.exec(t, `CREATE POLICY send_via_authenticator ON realtime.messages FOR INSERT TO authenticated
		WITH CHECK (realtime.topic() = 'probe-room' AND session_user = 'authenticator')`)

	c := dial(t, n)
	joinRef, reply := c.join("realtime:probe-room", privateConfig(), n.env.UserToken(t, userA, nil))
	require.Equal(t, "ok", reply.Status, string(reply.Response))
	ref := c.send(joinRef, "realtime:probe-room", "broadcast", broadcastMsg("hello", map[string]any{}))
	require.Equal(t, "ok", c.awaitReply("realtime:probe-room", ref).Status, "the INSERT policy was evaluated there too")

	body := map[string]any{"messages": []map[string]any{{"topic": "probe-room", "event": "rest", "payload": map[string]any{}, "private": true}}}
	resp := n.env.Do(t, servicetest.Request{Method: http.MethodPost, Path: realtime.Prefix + "/api/broadcast", Body: body, Token: n.env.UserToken(t, userA, nil)})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
}
