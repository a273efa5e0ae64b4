package realtime

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAddressKeyGroupsIPv6By64(t *testing.T) {
	t.Parallel()
	key := func(s string) string { return addressKey(netip.MustParseAddr(s)) }
	require.Equal(t, "203.0.113.7", key("203.0.113.7"))
	require.Equal(t, "203.0.113.7", key("::ffff:203.0.113.7"), "an IPv4-mapped address is the IPv4 client")
	require.NotEqual(t, key("203.0.113.7"), key("203.0.113.8"))
	require.Equal(t, "2001:db8:1:2::/64", key("2001:db8:1:2::1"))
	require.Equal(t, key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "one /64 is one client")
	require.Equal(t, key("fe80::1"), key("fe80::1%eth0"))
	require.NotEqual(t, key("2001:db8:1:2::1"), key("2001:db8:1:3::1"))
	require.Empty(t, addressKey(netip.Addr{}), "no address, no limit")
}

func TestConnLimits(t *testing.T) {
	t.Parallel()
	l := newConnLimits(2)
	require.True(t, l.acquire("a"))
	require.True(t, l.acquire("a"))
	require.False(t, l.acquire("a"))
	require.True(t, l.acquire("b"))
	l.release("a")
	require.True(t, l.acquire("a"))

	unlimited := newConnLimits(-1)
	for range 10 {
		require.True(t, unlimited.acquire("a"))
	}
}
