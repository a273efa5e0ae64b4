package gateway_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
)

func TestAPIKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	anon := f.keys.AnonKey()
	service := f.keys.ServiceRoleKey()
	user := f.userToken(t)
	hour := time.Hour

	noneKey, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"role": "anon", "exp": time.Now().Add(hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	invalidKey := kong("Invalid authentication credentials")
	missingKey := kong("No API key found in request")

	run(t, f, []scenario{
		{name: "no apikey", url: "/auth/v1/whoami", expectedStatus: http.StatusUnauthorized, expectedContent: []string{missingKey}},
		{
			name: "forged apikey", url: "/auth/v1/whoami", headers: map[string]string{"apikey": forged(t, jwt.MapClaims{"role": "anon"})},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey},
		},
		{
			name: "expired apikey", url: "/auth/v1/whoami",
			headers:        map[string]string{"apikey": f.sign(t, jwt.MapClaims{"role": "anon", "exp": time.Now().Add(-hour).Unix()})},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey},
		},
		{name: "alg none apikey", url: "/auth/v1/whoami", headers: map[string]string{"apikey": noneKey}, expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey}},
		{name: "user token as apikey", url: "/auth/v1/whoami", headers: map[string]string{"apikey": user}, expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey}},
		{name: "garbage apikey", url: "/auth/v1/whoami", headers: map[string]string{"apikey": "sb_publishable_nope"}, expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey}},
		{
			name: "anon key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": anon},
			expectedStatus: http.StatusOK, check: expectWhoami("anon", "", true, ""),
		},
		{
			name: "service role key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": service},
			expectedStatus: http.StatusOK, check: expectWhoami("service_role", "", true, ""),
		},
		{
			name: "user bearer token", url: "/auth/v1/whoami", headers: map[string]string{"apikey": anon, "Authorization": "Bearer " + user},
			expectedStatus: http.StatusOK, check: expectWhoami("authenticated", "user-1", true, ""),
		},
		{
			name: "bearer scheme is case-insensitive", url: "/auth/v1/whoami", headers: map[string]string{"apikey": anon, "Authorization": "bearer " + user},
			expectedStatus: http.StatusOK, check: expectWhoami("authenticated", "user-1", true, ""),
		},
		{
			name: "bearer equal to the apikey", url: "/auth/v1/whoami", headers: map[string]string{"apikey": anon, "Authorization": "Bearer " + anon},
			expectedStatus: http.StatusOK, check: expectWhoami("anon", "", true, ""),
		},
		{
			name: "expired bearer is recorded, apikey principal kept", url: "/auth/v1/whoami",
			headers: map[string]string{
				"apikey":        anon,
				"Authorization": "Bearer " + f.sign(t, jwt.MapClaims{"sub": "user-1", "role": "authenticated", "exp": time.Now().Add(-hour).Unix()}),
			},
			expectedStatus: http.StatusOK, check: expectWhoami("anon", "", true, "expired"),
		},
		{
			name: "forged bearer is recorded", url: "/auth/v1/whoami",
			headers:        map[string]string{"apikey": anon, "Authorization": "Bearer " + forged(t, jwt.MapClaims{"sub": "admin", "role": "service_role"})},
			expectedStatus: http.StatusOK, check: expectWhoami("anon", "", true, "invalid"),
		},
		{
			name: "non-bearer authorization is ignored", url: "/auth/v1/whoami", headers: map[string]string{"apikey": anon, "Authorization": "Basic dXNlcjpwYXNz"},
			expectedStatus: http.StatusOK, check: expectWhoami("anon", "", true, ""),
		},
		{
			name: "apikey in the query", url: "/auth/v1/whoami?apikey=" + url.QueryEscape(anon),
			expectedStatus: http.StatusOK, check: expectWhoami("anon", "", true, ""),
		},
		{
			name: "header apikey wins over the query", url: "/auth/v1/whoami?apikey=garbage", headers: map[string]string{"apikey": service},
			expectedStatus: http.StatusOK, check: expectWhoami("service_role", "", true, ""),
		},
		{
			name: "open path without a key", url: "/auth/v1/verify?token=abc&type=signup",
			expectedStatus: http.StatusOK, check: expectWhoami("", "", false, ""),
		},
		{
			name: "open path ignores a bad key", url: "/auth/v1/verify", headers: map[string]string{"apikey": "garbage"},
			expectedStatus: http.StatusOK, check: expectWhoami("", "", false, ""),
		},
		{
			name: "open path still reads a good key", url: "/auth/v1/verify", headers: map[string]string{"apikey": anon},
			expectedStatus: http.StatusOK, check: expectWhoami("anon", "", true, ""),
		},
		{
			name: "open path reads a bearer without a key", url: "/auth/v1/verify", headers: map[string]string{"Authorization": "Bearer " + user},
			expectedStatus: http.StatusOK, check: expectWhoami("authenticated", "user-1", true, ""),
		},
		{
			name: "whole open service", method: http.MethodPut, url: "/storage/v1/object/avatars/a.png", body: "png",
			headers: map[string]string{"Content-Type": "image/png"}, expectedStatus: http.StatusOK, expectedContent: []string{`{"bytes":3}`},
		},
		{
			name: "encoded slashes cannot reach a protected route through an open prefix",
			url:  "/auth/v1/admin/users/x%2F..%2F..%2F..%2Fverify", expectedStatus: http.StatusUnauthorized, expectedContent: []string{missingKey},
		},
		{name: "health needs no key", url: "/health", expectedStatus: http.StatusOK, expectedContent: []string{`{"status":"ok"}`}},
		{name: "ready needs no key", url: "/ready", expectedStatus: http.StatusOK, expectedContent: []string{`{"status":"ready"}`}},
		{name: "metrics need no key", url: "/metrics", expectedStatus: http.StatusOK},
		{name: "unknown path", url: "/nope", expectedStatus: http.StatusNotFound, expectedContent: []string{kong("no Route matched with those values")}},
		{
			name: "service not mounted", url: "/rest/v1/todos?select=*", headers: map[string]string{"apikey": anon},
			expectedStatus: http.StatusNotFound, expectedContent: []string{kong("no Route matched with those values")},
		},
		{name: "unknown route under a service needs a key first", url: "/auth/v1/nope", expectedStatus: http.StatusUnauthorized, expectedContent: []string{missingKey}},
		{
			name: "unknown route under a service", url: "/auth/v1/nope", headers: map[string]string{"apikey": anon},
			expectedStatus: http.StatusNotFound, expectedContent: []string{kong("no Route matched with those values")},
		},
		{
			name: "route exists for other methods only", method: http.MethodDelete, url: "/auth/v1/whoami", headers: map[string]string{"apikey": anon},
			expectedStatus: http.StatusNotFound, expectedContent: []string{kong("no Route matched with those values")},
		},
	})

	// Open paths a service declares, here the OAuth routes browsers reach without an apikey.
	// (Which paths auth declares is auth's to test: the gateway imports no feature package.)
	declared := newFixture(t, func(o *options) {
		o.services = []gateway.Service{{
			Name: "auth", Prefix: "/auth/v1", Open: []string{"/auth/v1/verify", "/auth/v1/callback", "/auth/v1/authorize"},
			Mount: func(mux *http.ServeMux) {
				mux.HandleFunc("GET /auth/v1/whoami", whoamiHandler)
				mux.HandleFunc("GET /auth/v1/callback", whoamiHandler)
				mux.HandleFunc("GET /auth/v1/authorize", whoamiHandler)
			},
		}}
	})
	run(t, declared, []scenario{
		{
			name: "declared open: callback without a key", url: "/auth/v1/callback?code=abc&state=xyz",
			expectedStatus: http.StatusOK, check: expectWhoami("", "", false, ""),
		},
		{
			name: "declared open: authorize without a key", url: "/auth/v1/authorize?provider=github",
			expectedStatus: http.StatusOK, check: expectWhoami("", "", false, ""),
		},
		{
			name: "declared open: other routes still need a key", url: "/auth/v1/whoami",
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{missingKey},
		},
	})
}
