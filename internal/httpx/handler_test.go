package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/httpx"
)

// logBuffer collects log output written from server goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envelope renders errors the way a hypothetical service would, to prove Handle delegates.
func envelope(w http.ResponseWriter, _ *http.Request, err *httpx.AppError) {
	_ = httpx.WriteJSON(w, err.Status, map[string]any{"error_code": err.Code, "msg": err.Message})
}

// serve runs h behind a tiny outer layer that stores a request id and a logger in the context,
// as the gateway does.
func serve(t *testing.T, h httpx.HandlerFunc) (*httptest.Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	inner := httpx.Handle(envelope, h)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := httpx.WithLogger(httpx.WithRequestID(r.Context(), "req-42"), logger)
		inner.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(srv.Close)
	return srv, logs
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestHandleSuccessPassesThrough(t *testing.T) {
	t.Parallel()
	srv, logs := serve(t, func(w http.ResponseWriter, _ *http.Request) error {
		return httpx.WriteJSON(w, http.StatusCreated, map[string]string{"id": "7"})
	})

	resp, body := get(t, srv.URL)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	require.JSONEq(t, `{"id":"7"}`, body)
	require.Empty(t, logs.String())
}

func TestHandleRendersAppErrorWithHeaders(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, func(http.ResponseWriter, *http.Request) error {
		e := httpx.NewError(http.StatusTooManyRequests, "over_email_send_rate_limit", "Slow down")
		e.Header = http.Header{"Retry-After": {"30"}}
		return e
	})

	resp, body := get(t, srv.URL)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "30", resp.Header.Get("Retry-After"))
	require.JSONEq(t, `{"error_code":"over_email_send_rate_limit","msg":"Slow down"}`, body)
}

func TestHandleHidesInternalCause(t *testing.T) {
	t.Parallel()
	srv, logs := serve(t, func(http.ResponseWriter, *http.Request) error {
		return errors.New("pq: password authentication failed for user app")
	})

	resp, body := get(t, srv.URL)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.JSONEq(t, `{"error_code":"internal_error","msg":"Internal server error"}`, body)
	require.NotContains(t, body, "password")

	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &entry))
	require.Equal(t, "ERROR", entry["level"])
	require.Equal(t, "req-42", entry["request_id"])
	require.Contains(t, entry["error"], "password authentication failed")
}

func TestHandleClientErrorsAreNotLoggedAsErrors(t *testing.T) {
	t.Parallel()
	srv, logs := serve(t, func(http.ResponseWriter, *http.Request) error {
		return httpx.NewError(http.StatusNotFound, "not_found", "Nope")
	})

	resp, _ := get(t, srv.URL)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.NotContains(t, logs.String(), `"level":"ERROR"`)
	require.Contains(t, logs.String(), `"level":"DEBUG"`)
}

func TestHandleErrorAfterCommitIsOnlyLogged(t *testing.T) {
	t.Parallel()
	srv, logs := serve(t, func(w http.ResponseWriter, _ *http.Request) error {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "partial")
		return errors.New("stream broke")
	})

	resp, body := get(t, srv.URL)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "partial", body)
	require.Contains(t, logs.String(), "after the response was committed")
	require.Contains(t, logs.String(), "stream broke")
}

func TestHandleRequiresRendererAndHandler(t *testing.T) {
	t.Parallel()
	require.Panics(t, func() { httpx.Handle(nil, func(http.ResponseWriter, *http.Request) error { return nil }) })
	require.Panics(t, func() { httpx.Handle(envelope, nil) })
}

// TestHandleClientGoneIsNotAFault checks that a server-side failure of a request whose client
// went away (a cancelled query, say) is recorded as 499 and logged at debug, not as a 500 at
// error level.
func TestHandleClientGoneIsNotAFault(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	srv, logs := serve(t, func(w http.ResponseWriter, r *http.Request) error {
		close(started)
		<-r.Context().Done()
		return errors.New("query failed: canceling statement due to user request")
	})
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	go func() {
		<-started
		cancel()
	}()
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.Canceled)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `"msg":"client went away"`) },
		10*time.Second, 5*time.Millisecond)
	require.Contains(t, logs.String(), `"level":"DEBUG"`)
	require.Contains(t, logs.String(), `"status":499`)
	require.NotContains(t, logs.String(), `"level":"ERROR"`)
}

func TestHandleDatabaseUnavailableIsA503(t *testing.T) {
	t.Parallel()
	// A real failure to connect: nothing listens on port 1.
	_, connectErr := pgconn.Connect(t.Context(), "postgres://nobody@127.0.0.1:1/db?connect_timeout=5")
	require.Error(t, connectErr)
	for name, tc := range map[string]struct {
		err    error
		status int
		code   string
	}{
		"a service's 500 wrapping a refused connection": {httpx.NewError(http.StatusInternalServerError, "unexpected_failure", "Database error").WithCause(connectErr), http.StatusServiceUnavailable, httpx.CodeUnavailable},
		"a bare refused connection":                     {connectErr, http.StatusServiceUnavailable, httpx.CodeUnavailable},
		"a server in recovery":                          {&pgconn.PgError{Code: "57P03", Message: "the database system is in recovery mode"}, http.StatusServiceUnavailable, httpx.CodeUnavailable},
		"a statement's own failure stays a 500":         {&pgconn.PgError{Code: "23505", Message: "duplicate key"}, http.StatusInternalServerError, httpx.CodeInternal},
		"a client error is left alone":                  {httpx.NewError(http.StatusBadRequest, "bad", "Bad").WithCause(connectErr), http.StatusBadRequest, "bad"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serve(t, func(http.ResponseWriter, *http.Request) error { return tc.err })
			resp, body := get(t, srv.URL)
			require.Equal(t, tc.status, resp.StatusCode, body)
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(body), &got))
			require.Equal(t, tc.code, got["error_code"])
			if tc.status == http.StatusServiceUnavailable {
				require.Equal(t, "1", resp.Header.Get("Retry-After"))
				require.NotContains(t, body, "127.0.0.1", "the cause stays in the log")
			}
		})
	}
}

func TestHandleKeepsOtherServerErrors(t *testing.T) {
	t.Parallel()
	diskFull := &fs.PathError{Op: "write", Path: "blob", Err: syscall.ENOSPC}
	for name, tc := range map[string]struct {
		err    error
		status int
	}{
		"a 507 for a full disk":         {httpx.NewError(http.StatusInsufficientStorage, "full", "Full").WithCause(diskFull), http.StatusInsufficientStorage},
		"a bare full disk is no outage": {diskFull, http.StatusInternalServerError},
		"a 502 wrapping a refused conn": {httpx.NewError(http.StatusBadGateway, "upstream", "Upstream").WithCause(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), http.StatusBadGateway},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serve(t, func(http.ResponseWriter, *http.Request) error { return tc.err })
			resp, body := get(t, srv.URL)
			require.Equal(t, tc.status, resp.StatusCode, body)
		})
	}
}
