package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/goforward/goforward/internal/httpx"
)

// resolveClientIP stores the client address in the context: the TCP peer, unless the peer is
// a trusted proxy, in which case X-Forwarded-For is walked from the right (the hop the
// proxy itself appended) past every trusted hop to the first untrusted one. Hops to the left
// of that are client-controlled and ignored.
func (g *Gateway) resolveClientIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(httpx.WithClientIP(r.Context(), g.clientIP(r))))
	})
}

func (g *Gateway) clientIP(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := peer.Addr().Unmap()
	if !g.trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			// Garbage means someone other than our proxies wrote this far; stop at the last
			// hop we could trust.
			break
		}
		ip = hop
		if !g.trusted(hop) {
			break
		}
	}
	return ip
}

func (g *Gateway) trusted(ip netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseHop reads one X-Forwarded-For entry: an address, optionally with a port or brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return ip.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// clientIPText is the resolved client address as text, or "" when the peer address could not
// be parsed (a unix socket, say).
func clientIPText(ctx context.Context) string {
	if ip := httpx.ClientIP(ctx); ip.IsValid() {
		return ip.String()
	}
	return ""
}
