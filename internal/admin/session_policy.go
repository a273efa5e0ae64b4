package admin

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/httpx"
)

// The environment's sign-in policy is config.AdminSignInPolicyFor, the one place that says
// it (`goforward env check` prints the same): which levels must use a second factor, and
// whether sign-in over plain http is refused.

func (s *Service) signInPolicy() config.AdminSignInPolicy {
	return config.AdminSignInPolicyFor(s.cfg.Environment)
}

// mfaRequired reports whether the environment makes level finish sign-in with a second factor.
func (s *Service) mfaRequired(level access.Level) bool {
	return slices.Contains(s.signInPolicy().MFALevels, string(level))
}

// checkTransport refuses a sign-in that the policy keeps off plain http: allowed when the
// public URL is https (TLS ends at the proxy in front of Go Forward) or when the request
// comes from this host. It runs before the password is looked at, so a password sent in the
// clear is never accepted, which would teach people to keep sending it so.
func (s *Service) checkTransport(r *http.Request) error {
	if !s.signInPolicy().HTTPSOnly || s.cfg.SecureCookies || fromLoopback(r) {
		return nil
	}
	return forbidden(CodeHTTPSRequired, "Admin sign-in over plain http is refused in %s: serve Go Forward behind https and set server.public_url to its https address, or sign in from this host (loopback)", s.cfg.Environment)
}

// fromLoopback reports whether r comes from this host and was not relayed: the client
// address the gateway resolved is loopback, and no forwarding header names anything else. A
// proxy on this host that is not in server.trusted_proxies makes every client look like
// loopback, so a relayed request (X-Forwarded-For, X-Real-IP or Forwarded naming another
// address) does not count as one.
func fromLoopback(r *http.Request) bool {
	if ip := httpx.ClientIP(r.Context()); !ip.IsValid() || !ip.IsLoopback() {
		return false
	}
	if len(r.Header.Values("Forwarded")) > 0 {
		return false
	}
	var hops []string
	for _, name := range []string{"X-Forwarded-For", "X-Real-Ip"} {
		for _, v := range r.Header.Values(name) {
			hops = append(hops, strings.Split(v, ",")...)
		}
	}
	for _, hop := range hops {
		if ip, ok := parseHop(hop); !ok || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// parseHop reads one forwarded address, with or without a port or brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return ip.Unmap(), true
	}
	return netip.Addr{}, false
}

// mfaEnrollmentRequired refuses an admin who must use a second factor but has none admin
// sign-in can check (a TOTP factor, or backup codes).
func mfaEnrollmentRequired(level access.Level, enrolled bool) *httpx.AppError {
	if enrolled {
		return forbidden(CodeMFAEnrollmentRequired, "Admin sign-in needs a TOTP factor or a backup code, and this account has neither: enrol a TOTP factor (POST /auth/v1/factors) and sign in again")
	}
	return forbidden(CodeMFAEnrollmentRequired, "This environment requires a second factor for %s: enrol a TOTP factor (POST /auth/v1/factors, signed in as this user) and sign in again", level)
}
