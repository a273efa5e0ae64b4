package gateway_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/ratelimit"
)

func TestRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *options) {
		o.deps.Limiter = ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: 0.001, Burst: 2})
	})
	headers := map[string]string{"apikey": f.keys.AnonKey()}

	for range 2 {
		resp, _ := get(t, f, "/auth/v1/whoami", headers)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, body := get(t, f, "/auth/v1/whoami", headers)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.JSONEq(t, kong("API rate limit exceeded"), body)
	retryAfter, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, retryAfter, 1)

	for _, probe := range []string{"/health", "/ready", "/metrics"} {
		for range 3 {
			resp, _ := get(t, f, probe, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, probe)
		}
	}
}

// brokenLimiter stands in for a shared store that is down.
type brokenLimiter struct{}

func (brokenLimiter) Allow(context.Context, string) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("redis: connection refused")
}

func TestRateLimiterFailureFailsOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *options) { o.deps.Limiter = brokenLimiter{} })

	resp, _ := get(t, f, "/auth/v1/whoami", map[string]string{"apikey": f.keys.AnonKey()})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, f.logs.String(), "rate limiter failed")
	require.Contains(t, f.logs.String(), "connection refused")
}

// chunked hides a reader's length so the client sends it with chunked transfer encoding.
type chunked struct{ io.Reader }

func post(t *testing.T, f *fixture, method, path string, body io.Reader, length int64, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, body)
	require.NoError(t, err)
	req.ContentLength = length
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(raw)
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	jsonHeaders := map[string]string{"apikey": f.keys.AnonKey(), "Content-Type": "application/json"}
	big := `{"text":"` + strings.Repeat("x", 1500) + `"}`

	t.Run("declared length over the service limit", func(t *testing.T) {
		t.Parallel()
		resp, body := post(t, f, http.MethodPost, "/auth/v1/echo", strings.NewReader(big), int64(len(big)), jsonHeaders)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		require.JSONEq(t, kong("Request body is too large"), body)
	})
	t.Run("chunked body over the service limit", func(t *testing.T) {
		t.Parallel()
		resp, body := post(t, f, http.MethodPost, "/auth/v1/echo", chunked{strings.NewReader(big)}, -1, jsonHeaders)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		require.Contains(t, body, `"code":"payload_too_large"`)
	})
	t.Run("body within the limit", func(t *testing.T) {
		t.Parallel()
		resp, body := post(t, f, http.MethodPost, "/auth/v1/echo", chunked{strings.NewReader(`{"text":"hi"}`)}, -1, jsonHeaders)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.JSONEq(t, `{"text":"hi"}`, body)
	})
	t.Run("gateway default limit", func(t *testing.T) {
		t.Parallel()
		headers := map[string]string{"apikey": f.keys.AnonKey()}
		resp, _ := post(t, f, http.MethodPost, "/functions/v1/hello", strings.NewReader(strings.Repeat("a", 2049)), 2049, headers)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		resp, body := post(t, f, http.MethodPost, "/functions/v1/hello", chunked{strings.NewReader(strings.Repeat("a", 2048))}, -1, headers)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.JSONEq(t, `{"bytes":2048}`, body)
	})
	t.Run("service that limits bodies itself", func(t *testing.T) {
		t.Parallel()
		size := 64 << 10
		resp, body := post(t, f, http.MethodPut, "/storage/v1/object/b/big.bin", chunked{strings.NewReader(strings.Repeat("z", size))}, -1, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.JSONEq(t, `{"bytes":65536}`, body)
	})
}

func TestGzip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *options) { o.cfg.Gzip = true })
	anon := f.keys.AnonKey()

	t.Run("large JSON is compressed", func(t *testing.T) {
		t.Parallel()
		resp, body := get(t, f, "/auth/v1/big", map[string]string{"apikey": anon, "Accept-Encoding": "gzip"})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		zr, err := gzip.NewReader(strings.NewReader(body))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		var payload map[string]string
		require.NoError(t, json.Unmarshal(plain, &payload))
		require.Len(t, payload["padding"], 9000)
		require.Less(t, len(body), len(plain))
	})
	uncompressed := []struct {
		name    string
		path    string
		headers map[string]string
	}{
		{"small JSON", "/auth/v1/small", map[string]string{"Accept-Encoding": "gzip"}},
		{"client without gzip", "/auth/v1/big", map[string]string{"Accept-Encoding": "identity"}},
		{"websocket upgrade", "/auth/v1/big", map[string]string{"Accept-Encoding": "gzip", "Connection": "Upgrade", "Upgrade": "websocket"}},
		{"range request", "/auth/v1/big", map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=0-99"}},
	}
	for _, tt := range uncompressed {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.headers["apikey"] = anon
			resp, body := get(t, f, tt.path, tt.headers)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Empty(t, resp.Header.Get("Content-Encoding"))
			require.True(t, json.Valid([]byte(body)))
		})
	}

	t.Run("off unless configured", func(t *testing.T) {
		t.Parallel()
		plain := newFixture(t)
		resp, _ := get(t, plain, "/auth/v1/big", map[string]string{"apikey": plain.keys.AnonKey(), "Accept-Encoding": "gzip"})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Empty(t, resp.Header.Get("Content-Encoding"))
	})
}
