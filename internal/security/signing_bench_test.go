package security_test

import (
	"testing"

	"github.com/goforward/goforward/internal/security"
)

// BenchmarkVerifyUserToken compares what the gateway pays per request to verify a user's
// access token: HS256 (an HMAC), ES256 and RS256 on first sight (the full signature check by
// kid), and ES256 seen before (the verified-token cache, the usual case: a client sends the
// same token until it refreshes).
func BenchmarkVerifyUserToken(b *testing.B) {
	rk := newRingKeys(b)
	hsKeys, err := security.NewKeys(testSecret, "", fixedTime)
	if err != nil {
		b.Fatal(err)
	}
	hs, err := hsKeys.SignAccessToken(userClaims())
	if err != nil {
		b.Fatal(err)
	}
	esKeys, err := security.NewKeys(testSecret, "", fixedTime)
	if err != nil {
		b.Fatal(err)
	}
	esRing := rk.ring(b, true)
	esKeys.SetKeyRing(esRing)
	es, err := esKeys.SignAccessToken(userClaims())
	if err != nil {
		b.Fatal(err)
	}
	rsKeys, err := security.NewKeys(testSecret, "", fixedTime)
	if err != nil {
		b.Fatal(err)
	}
	rsRing := rk.ring(b, false)
	rsKeys.SetKeyRing(rsRing)
	rs, err := rsKeys.SignAccessToken(userClaims())
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, keys *security.Keys, token string, verify func(*security.Keys, string) error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := verify(keys, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	cached := func(k *security.Keys, token string) error { _, err := k.Verify(token); return err }
	uncached := func(k *security.Keys, token string) error { _, err := k.VerifyUncached(token); return err }
	run("HS256", hsKeys, hs, cached)
	run("ES256/uncached", esKeys, es, uncached)
	run("RS256/uncached", rsKeys, rs, uncached)
	run("ES256/cached", esKeys, es, cached)
	run("RS256/cached", rsKeys, rs, cached)
}
