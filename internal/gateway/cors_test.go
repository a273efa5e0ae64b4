package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
)

func preflight(origin, headers string) map[string]string {
	h := map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST"}
	if headers != "" {
		h["Access-Control-Request-Headers"] = headers
	}
	return h
}

func requireListHas(list string, names ...string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, resp *http.Response, _ []byte) {
		got := strings.Split(resp.Header.Get(list), ",")
		for _, name := range names {
			require.Contains(t, got, name, "%s: %v", list, got)
		}
	}
}

func TestCORSDevelopment(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *options) { o.cfg.Development = true })
	anon := f.keys.AnonKey()
	supabaseHeaders := []string{
		"authorization", "apikey", "content-type", "x-client-info", "accept-profile", "content-profile", "prefer", "range",
		"x-upsert", "cache-control", "x-supabase-api-version", "x-region", "x-metadata", "tus-resumable", "upload-length",
		"upload-offset", "upload-metadata", "x-request-id",
	}

	run(t, f, []scenario{
		{
			name: "preflight from localhost", method: http.MethodOptions, url: "/rest/v1/todos",
			headers:        preflight("http://localhost:3000", "apikey, authorization, X-My-App-Header"),
			expectedStatus: http.StatusNoContent,
			expectedHeaders: map[string]string{
				"Access-Control-Allow-Origin":  "http://localhost:3000",
				"Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS,HEAD",
				"Access-Control-Max-Age":       "3600",
			},
			absentHeaders: []string{"Access-Control-Allow-Credentials"},
			check: func(t *testing.T, resp *http.Response, body []byte) {
				requireListHas("Access-Control-Allow-Headers", append(supabaseHeaders, "x-my-app-header")...)(t, resp, body)
				require.Contains(t, resp.Header.Values("Vary"), "Origin")
				require.Empty(t, body)
			},
		},
		{
			name: "preflight from 127.0.0.1", method: http.MethodOptions, url: "/auth/v1/token",
			headers: preflight("http://127.0.0.1:5173", ""), expectedStatus: http.StatusNoContent,
			expectedHeaders: map[string]string{"Access-Control-Allow-Origin": "http://127.0.0.1:5173"},
		},
		{
			name: "preflight from a foreign origin", method: http.MethodOptions, url: "/rest/v1/todos",
			headers: preflight("https://evil.example", "apikey"), expectedStatus: http.StatusNoContent,
			absentHeaders: []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"},
		},
		{
			name: "localhost look-alike is foreign", method: http.MethodOptions, url: "/rest/v1/todos",
			headers: preflight("http://localhost.evil.example", "apikey"), expectedStatus: http.StatusNoContent,
			absentHeaders: []string{"Access-Control-Allow-Origin"},
		},
		{
			name: "simple request exposes headers", url: "/auth/v1/whoami",
			headers:         map[string]string{"Origin": "http://localhost:3000", "apikey": anon},
			expectedStatus:  http.StatusOK,
			expectedHeaders: map[string]string{"Access-Control-Allow-Origin": "http://localhost:3000"},
			check: requireListHas("Access-Control-Expose-Headers",
				"content-range", "x-total-count", "link", "x-supabase-api-version", "location", "upload-offset", "upload-length", "upload-expires", "tus-resumable", "etag", "content-disposition", "x-request-id"),
		},
		{
			name: "errors carry CORS headers so the browser can read them", url: "/auth/v1/whoami",
			headers: map[string]string{"Origin": "http://localhost:3000"}, expectedStatus: http.StatusUnauthorized,
			expectedHeaders: map[string]string{"Access-Control-Allow-Origin": "http://localhost:3000"},
		},
		{
			name: "foreign origin gets no CORS headers", url: "/auth/v1/whoami",
			headers: map[string]string{"Origin": "https://evil.example", "apikey": anon}, expectedStatus: http.StatusOK,
			absentHeaders: []string{"Access-Control-Allow-Origin", "Access-Control-Expose-Headers"},
		},
		{
			name: "OPTIONS without a preflight is routed", method: http.MethodOptions, url: "/auth/v1/whoami",
			headers: map[string]string{"Origin": "http://localhost:3000", "apikey": anon}, expectedStatus: http.StatusNotFound,
		},
	})
}

func TestCORSAllowList(t *testing.T) {
	t.Parallel()
	listed := newFixture(t, func(o *options) {
		o.cfg.CORS = gateway.CORSConfig{AllowedOrigins: []string{"https://app.example.com"}, MaxAge: -1}
	})
	run(t, listed, []scenario{
		{
			name: "listed origin", method: http.MethodOptions, url: "/rest/v1/todos", headers: preflight("https://app.example.com", ""),
			expectedStatus: http.StatusNoContent, expectedHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"},
			absentHeaders: []string{"Access-Control-Max-Age"},
		},
		{
			name: "localhost outside development", method: http.MethodOptions, url: "/rest/v1/todos", headers: preflight("http://localhost:3000", ""),
			expectedStatus: http.StatusNoContent, absentHeaders: []string{"Access-Control-Allow-Origin"},
		},
	})

	wildcard := newFixture(t, func(o *options) { o.cfg.CORS = gateway.CORSConfig{AllowedOrigins: []string{"*"}} })
	run(t, wildcard, []scenario{{
		name: "wildcard", method: http.MethodOptions, url: "/rest/v1/todos", headers: preflight("https://anywhere.example", ""),
		expectedStatus: http.StatusNoContent, expectedHeaders: map[string]string{"Access-Control-Allow-Origin": "*"},
	}})

	credentials := newFixture(t, func(o *options) {
		o.cfg.CORS = gateway.CORSConfig{AllowedOrigins: []string{"*"}, AllowCredentials: true}
	})
	run(t, credentials, []scenario{{
		name: "wildcard with credentials echoes the origin", method: http.MethodOptions, url: "/rest/v1/todos",
		headers: preflight("https://anywhere.example", ""), expectedStatus: http.StatusNoContent,
		expectedHeaders: map[string]string{
			"Access-Control-Allow-Origin":      "https://anywhere.example",
			"Access-Control-Allow-Credentials": "true",
		},
	}})
}
