package httpx_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/httpx"
)

type observed struct {
	status  int
	bytes   int64
	written bool
}

func observe(t *testing.T, h func(sw *httpx.StatusWriter, r *http.Request)) (*httptest.Server, <-chan observed) {
	t.Helper()
	seen := make(chan observed, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := httpx.NewStatusWriter(w)
		require.Same(t, sw, httpx.NewStatusWriter(sw))
		h(sw, r)
		seen <- observed{status: sw.Status(), bytes: sw.BytesWritten(), written: sw.Written()}
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func TestStatusWriterRecordsStatusAndBytes(t *testing.T) {
	t.Parallel()
	srv, seen := observe(t, func(sw *httpx.StatusWriter, _ *http.Request) {
		require.False(t, sw.Written())
		sw.WriteHeader(http.StatusEarlyHints)
		require.False(t, sw.Written(), "1xx does not commit the response")
		sw.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(sw, "hello")
		sw.Flush()
		_, _ = io.WriteString(sw, " world")
	})

	resp, body := get(t, srv.URL)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, "hello world", body)
	got := <-seen
	require.Equal(t, observed{status: http.StatusAccepted, bytes: 11, written: true}, got)
}

func TestStatusWriterImplicitOK(t *testing.T) {
	t.Parallel()
	srv, seen := observe(t, func(sw *httpx.StatusWriter, _ *http.Request) {
		_, _ = io.WriteString(sw, "x")
	})
	resp, _ := get(t, srv.URL)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, http.StatusOK, (<-seen).status)
}

func TestStatusWriterHijackRecordsSwitchingProtocols(t *testing.T) {
	t.Parallel()
	srv, seen := observe(t, func(sw *httpx.StatusWriter, _ *http.Request) {
		conn, rw, err := sw.Hijack()
		require.NoError(t, err)
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
	})

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Equal(t, observed{status: http.StatusSwitchingProtocols, written: true}, <-seen)
}
