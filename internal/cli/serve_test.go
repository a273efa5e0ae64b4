package cli

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLocalURLReachesTheListenerFromThisHost(t *testing.T) {
	t.Parallel()
	addr := &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}
	for host, want := range map[string]string{
		"127.0.0.1": "http://127.0.0.1:8080",
		"0.0.0.0":   "http://127.0.0.1:8080",
		"::":        "http://[::1]:8080",
		"::1":       "http://[::1]:8080",
		"10.1.2.3":  "http://10.1.2.3:8080",
		"localhost": "http://localhost:8080",
	} {
		require.Equal(t, want, localURL(host, addr), host)
	}
}
