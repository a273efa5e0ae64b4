package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	anon := f.keys.AnonKey()
	validID := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

	t.Run("client id is reused and echoed", func(t *testing.T) {
		t.Parallel()
		resp, body := get(t, f, "/auth/v1/whoami", map[string]string{"apikey": anon, "X-Request-Id": "trace-42.a_b"})
		require.Equal(t, "trace-42.a_b", resp.Header.Get("X-Request-Id"))
		require.Equal(t, "trace-42.a_b", decodeWhoami(t, []byte(body)).RequestID)
	})
	for name, bad := range map[string]string{
		"spaces":      "has spaces",
		"too long":    strings.Repeat("a", 65),
		"log forgery": "x\",\"level\":\"ERROR",
	} {
		t.Run("malformed id is replaced: "+name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, f, "/auth/v1/whoami", map[string]string{"apikey": anon, "X-Request-Id": bad})
			id := resp.Header.Get("X-Request-Id")
			require.NotEqual(t, bad, id)
			require.Regexp(t, validID, id)
			require.Equal(t, id, decodeWhoami(t, []byte(body)).RequestID)
		})
	}
	t.Run("generated when absent, on errors too", func(t *testing.T) {
		t.Parallel()
		first, _ := get(t, f, "/auth/v1/whoami", nil)
		second, _ := get(t, f, "/nope", nil)
		require.Regexp(t, validID, first.Header.Get("X-Request-Id"))
		require.Regexp(t, validID, second.Header.Get("X-Request-Id"))
		require.NotEqual(t, first.Header.Get("X-Request-Id"), second.Header.Get("X-Request-Id"))
	})
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	behindProxy := newFixture(t, func(o *options) {
		o.cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	})
	direct := newFixture(t)

	tests := []struct {
		name string
		f    *fixture
		xff  []string
		want string
	}{
		{"no forwarded header", behindProxy, nil, "127.0.0.1"},
		{"one hop", behindProxy, []string{"198.51.100.7"}, "198.51.100.7"},
		{"through an inner proxy", behindProxy, []string{"198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"spoofed leftmost entries are ignored", behindProxy, []string{"1.1.1.1, 198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"several header lines", behindProxy, []string{"1.1.1.1", "198.51.100.7"}, "198.51.100.7"},
		{"port and brackets", behindProxy, []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"garbage stops at the last trusted hop", behindProxy, []string{"198.51.100.7, not-an-ip, 10.1.2.3"}, "10.1.2.3"},
		{"untrusted peer's header is ignored", direct, []string{"198.51.100.7"}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tt.f.srv.URL+"/auth/v1/whoami", nil)
			require.NoError(t, err)
			req.Header.Set("apikey", tt.f.keys.AnonKey())
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			resp, err := tt.f.srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tt.want, decodeWhoami(t, body).ClientIP)
		})
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	anon := map[string]string{"apikey": f.keys.AnonKey()}
	get(t, f, "/auth/v1/whoami", anon)
	get(t, f, "/auth/v1/whoami", anon)
	get(t, f, "/auth/v1/whoami", nil)
	get(t, f, "/auth/v1/panic", anon)
	get(t, f, "/nope/"+strings.Repeat("x", 20), nil)
	req, err := http.NewRequestWithContext(t.Context(), "BREW", f.srv.URL+"/auth/v1/whoami", nil)
	require.NoError(t, err)
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	resp, body := get(t, f, "/metrics", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		`goforward_http_requests_total{code="200",method="GET",route="GET /auth/v1/whoami",service="auth"} 2`,
		`goforward_http_requests_total{code="401",method="GET",route="GET /auth/v1/whoami",service="auth"} 1`,
		`goforward_http_requests_total{code="500",method="GET",route="GET /auth/v1/panic",service="auth"} 1`,
		`goforward_http_requests_total{code="404",method="GET",route="unmatched",service="gateway"} 1`,
		`goforward_http_requests_total{code="401",method="OTHER",route="unmatched",service="auth"} 1`,
		`goforward_http_request_duration_seconds_count{method="GET",route="GET /auth/v1/whoami",service="auth"} 3`,
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "xxxxxxxx", "unmatched paths never become labels")
}

func TestAccessLogKeepsSecretsOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	anon, service, user := f.keys.AnonKey(), f.keys.ServiceRoleKey(), f.userToken(t)
	const otp = "otp-7f3a9c"

	get(t, f, "/auth/v1/whoami", map[string]string{"apikey": anon, "Authorization": "Bearer " + user})
	get(t, f, "/auth/v1/whoami?select=id&apikey="+url.QueryEscape(service)+"&token="+otp, nil)
	get(t, f, "/auth/v1/verify?type=magiclink&api%6Bey="+url.QueryEscape(anon)+"&access_token="+url.QueryEscape(user)+"&refresh_token=r3fr3sh", nil)
	get(t, f, "/auth/v1/whoami", map[string]string{"apikey": "not-a-key-" + otp})

	logs := f.logs.String()
	for _, secret := range []string{anon, service, user, otp, "r3fr3sh", url.QueryEscape(anon), url.QueryEscape(service)} {
		require.NotContains(t, logs, secret)
	}
	require.NotContains(t, logs, "Bearer")
	require.Contains(t, logs, "select=id&apikey=redacted&token=redacted")
	require.Contains(t, logs, "api%6Bey=redacted&access_token=redacted&refresh_token=redacted")

	var entries []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry))
		if entry["msg"] == "request" {
			entries = append(entries, entry)
		}
	}
	require.Len(t, entries, 4)
	first := entries[0]
	for _, field := range []string{"method", "path", "status", "bytes", "duration_ms", "request_id", "ip", "role"} {
		require.Contains(t, first, field)
	}
	roles := []any{}
	for _, e := range entries {
		roles = append(roles, e["role"])
	}
	require.ElementsMatch(t, []any{"authenticated", "service_role", "anon", ""}, roles)
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	anon := map[string]string{"apikey": f.keys.AnonKey()}

	resp, body := get(t, f, "/auth/v1/panic", anon)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.JSONEq(t, kong("Internal server error"), body)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))

	resp, _ = get(t, f, "/auth/v1/whoami", anon)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the server lives on")

	logs := f.logs.String()
	require.Contains(t, logs, "panic serving request")
	require.Contains(t, logs, `"panic":"boom"`)
	require.Contains(t, logs, "goroutine", "the stack is logged")

	t.Run("after the response started the connection is cut", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/auth/v1/panic-late", nil)
		require.NoError(t, err)
		req.Header.Set("apikey", f.keys.AnonKey())
		resp, err := f.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		require.Error(t, err, "a truncated body must not look complete")

		again, _ := get(t, f, "/auth/v1/whoami", anon)
		require.Equal(t, http.StatusOK, again.StatusCode)
	})

	t.Run("development shows the panic", func(t *testing.T) {
		dev := newFixture(t, func(o *options) { o.cfg.Development = true })
		resp, body := get(t, dev, "/auth/v1/panic", map[string]string{"apikey": dev.keys.AnonKey()})
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.JSONEq(t, `{"message":"Internal server error","error":"boom"}`, body)
	})
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	failing := newFixture(t, func(o *options) {
		o.deps.Ready = func(context.Context) error { return errors.New("database unreachable") }
	})
	resp, body := get(t, failing, "/ready", nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.JSONEq(t, `{"status":"unavailable","reason":"database unreachable"}`, body)

	resp, body = get(t, failing, "/health", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "liveness does not depend on readiness")
	require.JSONEq(t, `{"status":"ok"}`, body)

	var checked atomic.Bool
	ready := newFixture(t, func(o *options) {
		o.deps.Ready = func(ctx context.Context) error {
			_, hasDeadline := ctx.Deadline()
			checked.Store(hasDeadline)
			return nil
		}
	})
	resp, body = get(t, ready, "/ready", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"status":"ready"}`, body)
	require.True(t, checked.Load(), "the check runs with a deadline")
}
