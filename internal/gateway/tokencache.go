package gateway

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/goforward/goforward/internal/security"
)

// tokenCacheTTL bounds how long a verified user token is answered from memory. A token's own
// exp always ends its entry sooner when it comes first; the bound only matters for the grace
// period of a previous JWT secret, which can end up to this long before a cached token signed
// with it is refused.
const tokenCacheTTL = 5 * time.Second

// tokenCacheSize caps the entries; when full, the cache starts over (a burst of distinct
// tokens then costs what it cost without the cache).
const tokenCacheSize = 8192

// tokenCache remembers the principals of JWTs verified recently. A signed-in user sends the
// same access token with every request, and its HS256 check, base64 and JSON decoding were a
// tenth of the gateway's processor time on a point read. Only tokens that verified are kept,
// under the whole token as key, so a forged or altered token always meets the full check.
type tokenCache struct {
	mu      sync.RWMutex
	entries map[string]cachedToken
	now     func() time.Time
}

type cachedToken struct {
	principal  security.Principal
	validUntil time.Time
}

func newTokenCache() *tokenCache {
	return &tokenCache{entries: map[string]cachedToken{}, now: time.Now}
}

// get returns the principal verified for token, with claims of its own, while the entry is
// fresh.
func (c *tokenCache) get(token string) (security.Principal, bool) {
	c.mu.RLock()
	e, ok := c.entries[token]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.validUntil) {
		return security.Principal{}, false
	}
	p := e.principal
	// The claims are copied so that no request can change what the next one gets.
	p.Claims = append(json.RawMessage(nil), e.principal.Claims...)
	return p, true
}

// put remembers p, which token verified to, until its exp or tokenCacheTTL, whichever is
// first. A token without exp is not kept.
func (c *tokenCache) put(token string, p security.Principal) {
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(p.Claims, &claims) != nil || claims.Exp == nil {
		return
	}
	exp, err := claims.Exp.Float64()
	if err != nil {
		return
	}
	now := c.now()
	until := now.Add(tokenCacheTTL)
	if expiry := time.Unix(int64(exp), 0); expiry.Before(until) {
		until = expiry
	}
	if !now.Before(until) {
		return
	}
	p.Claims = append(json.RawMessage(nil), p.Claims...)
	c.mu.Lock()
	if len(c.entries) >= tokenCacheSize {
		clear(c.entries)
	}
	c.entries[token] = cachedToken{principal: p, validUntil: until}
	c.mu.Unlock()
}
