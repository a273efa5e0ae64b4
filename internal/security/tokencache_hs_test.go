package security

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func hsToken(t *testing.T, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// TestVerifyRemembersHS256Tokens: a user's HS256 token, verified once, is recognised again
// without the HMAC and JSON decoding (a couple of allocations instead of dozens), with the
// same principal, and no caller can change what the next one gets. Not parallel:
// testing.AllocsPerRun counts the whole process's allocations.
func TestVerifyRemembersHS256Tokens(t *testing.T) {
	secret := []byte("token-cache-test-secret-0123456789abcdef")
	keys, err := NewKeys(secret, "", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	token := hsToken(t, secret, jwt.MapClaims{"sub": "user-1", "role": "authenticated", "exp": time.Now().Add(time.Hour).Unix()})
	first, err := keys.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	var again Principal
	allocs := testing.AllocsPerRun(50, func() { again, err = keys.Verify(token) })
	if err != nil {
		t.Fatal(err)
	}
	if allocs > 3 {
		t.Errorf("verifying a known token: %v allocations", allocs)
	}
	if again.Role != "authenticated" || again.Subject != "user-1" || string(again.Claims) != string(first.Claims) || again.Token != token {
		t.Errorf("cached principal %+v, first %+v", again, first)
	}
	again.Claims[0] = 'X'
	if next, _ := keys.Verify(token); string(next.Claims) != string(first.Claims) {
		t.Errorf("claims changed to %s", next.Claims)
	}
}

// TestHS256CacheBounds: a forged token with a cached token's claims is refused; a cached
// token is refused once past its exp, and a long-lived one is checked again after
// hsCacheTTL, so a previous secret's grace period ends for it at most that late.
func TestHS256CacheBounds(t *testing.T) {
	secret := []byte("token-cache-test-secret-0123456789abcdef")
	now := time.Now()
	keys, err := NewKeys(secret, "", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	keys.now = func() time.Time { return now }
	claims := jwt.MapClaims{"sub": "user-1", "role": "authenticated", "exp": now.Add(2 * time.Second).Unix()}
	token := hsToken(t, secret, claims)
	if _, err := keys.Verify(token); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Verify(hsToken(t, []byte("someone-elses-secret-0123456789abcdef"), claims)); err == nil {
		t.Error("a forged token with the claims of a cached one verified")
	}
	if _, ok := keys.hsTokens.get(token, now); !ok {
		t.Fatal("the verified token was not remembered")
	}
	if _, ok := keys.hsTokens.get(token, now.Add(2*time.Second+Leeway+time.Second)); ok {
		t.Error("a token past its exp is still answered from the cache")
	}
	long := hsToken(t, secret, jwt.MapClaims{"sub": "user-2", "role": "authenticated", "exp": now.Add(time.Hour).Unix()})
	if _, err := keys.Verify(long); err != nil {
		t.Fatal(err)
	}
	if _, ok := keys.hsTokens.get(long, now.Add(hsCacheTTL)); ok {
		t.Error("an HS256 token is answered from the cache after hsCacheTTL")
	}
}
