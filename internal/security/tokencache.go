package security

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"
)

// tokenCacheSize bounds the verified-token cache of a ring: about as many distinct user
// tokens as are live on a busy node within one access-token lifetime.
const tokenCacheSize = 16384

// hsCacheTTL bounds how long a verified HS256 token is answered from the cache. It matters
// only for the grace period of a previous JWT secret, which can end up to this long before a
// cached token signed with it is refused.
const hsCacheTTL = 5 * time.Second

// tokenCache remembers tokens already verified: an ECDSA or RSA verification costs tens of
// microseconds, an HS256 one with its base64 and JSON decoding several microseconds and
// about sixty allocations (a tenth of the gateway's processor time on a REST point read),
// and a client sends the same access token with every request until it refreshes. Entries
// are keyed by the SHA-256 of the token, so a lookup compares digests, never the token, and
// nothing about a cached token leaks through timing. Only tokens that verified are kept, so a
// forged or altered token always meets the full check. Each KeyRing has its own cache:
// replacing the ring (a key revoked on any node) forgets everything verified with the old
// one; Keys without a ring use their own.
type tokenCache struct {
	mu      sync.RWMutex
	max     int
	entries map[[32]byte]cachedToken
}

type cachedToken struct {
	principal  Principal
	validUntil time.Time
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{max: size, entries: make(map[[32]byte]cachedToken)}
}

// get returns a copy of the principal verified for token, if it is cached and not expired.
func (c *tokenCache) get(token string, now time.Time) (Principal, bool) {
	sum := sha256.Sum256([]byte(token))
	c.mu.RLock()
	e, ok := c.entries[sum]
	c.mu.RUnlock()
	if !ok || !now.Before(e.validUntil) {
		return Principal{}, false
	}
	p := e.principal
	p.Claims = append(json.RawMessage(nil), e.principal.Claims...)
	p.Token = token
	return p, true
}

// put caches p for token until validUntil. A full cache is emptied rather than kept in
// order: the live tokens are verified again once, which is cheaper than bookkeeping on every
// hit.
func (c *tokenCache) put(token string, p Principal, validUntil time.Time) {
	sum := sha256.Sum256([]byte(token))
	p.Token = ""
	p.Claims = append(json.RawMessage(nil), p.Claims...)
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[sum] = cachedToken{principal: p, validUntil: validUntil}
	c.mu.Unlock()
}
