package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goforward/goforward/internal/security"
)

var cacheTestSecret = []byte("token-cache-test-secret-0123456789abcdef")

func signedToken(t *testing.T, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func cacheTestGateway(t *testing.T) *Gateway {
	t.Helper()
	keys, err := security.NewKeys(cacheTestSecret, "", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{}, Deps{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestVerifyRemembersUserTokens: a user's token, verified once, is recognised again without
// the HS256 check and JSON decoding (a handful of allocations instead of dozens), with the
// same principal. Not parallel: testing.AllocsPerRun counts the whole process's allocations.
func TestVerifyRemembersUserTokens(t *testing.T) {
	g := cacheTestGateway(t)
	token := signedToken(t, cacheTestSecret, jwt.MapClaims{"sub": "user-1", "role": "authenticated",
		"exp": time.Now().Add(time.Hour).Unix()})
	first, err := g.verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	var again security.Principal
	allocs := testing.AllocsPerRun(50, func() { again, err = g.verify(context.Background(), token) })
	if err != nil {
		t.Fatal(err)
	}
	if allocs > 2 {
		t.Errorf("verifying a known token: %v allocations", allocs)
	}
	if again.Role != "authenticated" || again.Subject != "user-1" || string(again.Claims) != string(first.Claims) || again.Token != token {
		t.Errorf("cached principal %+v, first %+v", again, first)
	}
	again.Claims[0] = 'X' // a request scribbling on its claims must not reach the next one
	if next, _ := g.verify(context.Background(), token); string(next.Claims) != string(first.Claims) {
		t.Errorf("claims changed to %s", next.Claims)
	}
}

// TestVerifyCacheRefusesWhatTheKeysRefuse: a forged token with a cached token's claims, and
// a cached token past its exp, are refused.
func TestVerifyCacheRefusesWhatTheKeysRefuse(t *testing.T) {
	g := cacheTestGateway(t)
	now := time.Now()
	g.tokens.now = func() time.Time { return now }
	claims := jwt.MapClaims{"sub": "user-1", "role": "authenticated", "exp": now.Add(2 * time.Second).Unix()}
	token := signedToken(t, cacheTestSecret, claims)
	if _, err := g.verify(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	forged := signedToken(t, []byte("someone-elses-secret-0123456789abcdef"), claims)
	if _, err := g.verify(context.Background(), forged); err == nil {
		t.Error("a forged token with the claims of a cached one verified")
	}
	if _, ok := g.tokens.get(token); !ok {
		t.Fatal("the verified token was not remembered")
	}
	now = now.Add(3 * time.Second)
	if _, ok := g.tokens.get(token); ok {
		t.Error("a token past its exp is still answered from the cache")
	}

	// Long-lived tokens are re-verified after tokenCacheTTL.
	long := signedToken(t, cacheTestSecret, jwt.MapClaims{"sub": "user-2", "role": "authenticated", "exp": now.Add(time.Hour).Unix()})
	if _, err := g.verify(context.Background(), long); err != nil {
		t.Fatal(err)
	}
	now = now.Add(tokenCacheTTL)
	if _, ok := g.tokens.get(long); ok {
		t.Error("a token is answered from the cache after tokenCacheTTL")
	}
}
