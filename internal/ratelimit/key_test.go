package ratelimit

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIPKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip   string
		want string
	}{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, IPKey(netip.MustParseAddr(tt.ip)), tt.ip)
	}
	require.Equal(t, UnknownIP, IPKey(netip.Addr{}))
}
