package ratelimit

import "net/netip"

// ipv6PrefixBits is the part of an IPv6 address that identifies one client: a /64 is the
// smallest network ISPs hand out and the one SLAAC hosts pick addresses from, so a single
// client can change its address within it at will.
const ipv6PrefixBits = 64

// UnknownIP is the key of callers whose address is not known (a unix-socket peer): they
// share one bucket.
const UnknownIP = "unknown"

// IPKey is the limiter key for a client address: an IPv4 address as it is, an IPv6 address
// as its /64 network ("2001:db8:1:2::/64"), so that walking through the 2^64 addresses of a
// single connection does not escape the limit. IPv4-mapped IPv6 addresses count as IPv4.
func IPKey(ip netip.Addr) string {
	if !ip.IsValid() {
		return UnknownIP
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, ipv6PrefixBits).Masked().String()
}
