package gateway_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
)

// rowsJSON is a PostgREST-like read result well over gzhttp's 1 KiB threshold.
var rowsJSON = func() string {
	rows := make([]map[string]any, 100)
	for i := range rows {
		rows[i] = map[string]any{"id": i, "title": "a row read through the REST service"}
	}
	out, _ := json.Marshal(rows)
	return string(out)
}()

// rangeService answers like PostgREST (row ranges) and like a storage download (byte ranges).
func rangeService() gateway.Service {
	return gateway.Service{
		Name:   "rest",
		Prefix: "/rest/v1",
		Mount: func(mux *http.ServeMux) {
			mux.HandleFunc("GET /rest/v1/rows", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.Header().Set("Content-Range", "0-99/*")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, rowsJSON)
			})
			mux.HandleFunc("GET /rest/v1/one-row", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.Header().Set("Content-Range", "0-0/1")
				_, _ = io.WriteString(w, `[{"id":1}]`)
			})
			mux.HandleFunc("HEAD /rest/v1/rows", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Range", "*/0")
				_, _ = w.Write(nil)
			})
			mux.HandleFunc("GET /rest/v1/partial", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("Content-Range", "bytes 0-2047/4096")
				w.WriteHeader(http.StatusPartialContent)
				_, _ = io.WriteString(w, strings.Repeat("abcdefgh", 256))
			})
		},
	}
}

func TestGzipContentRange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *options) {
		o.cfg.Gzip = true
		o.services = []gateway.Service{rangeService()}
	})
	headers := map[string]string{"apikey": f.keys.AnonKey(), "Accept-Encoding": "gzip"}

	t.Run("row range JSON is compressed", func(t *testing.T) {
		t.Parallel()
		resp, body := get(t, f, "/rest/v1/rows", headers)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		require.Equal(t, "0-99/*", resp.Header.Get("Content-Range"))
		require.Empty(t, resp.Header.Get("X-Goforward-Parked-Content-Range"))
		zr, err := gzip.NewReader(strings.NewReader(body))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		require.Equal(t, rowsJSON, string(plain))
		require.Less(t, len(body), len(plain))
	})

	t.Run("small row range keeps its header", func(t *testing.T) {
		t.Parallel()
		resp, body := get(t, f, "/rest/v1/one-row", headers)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Empty(t, resp.Header.Get("Content-Encoding"))
		require.Equal(t, "0-0/1", resp.Header.Get("Content-Range"))
		require.Empty(t, resp.Header.Get("X-Goforward-Parked-Content-Range"))
		require.JSONEq(t, `[{"id":1}]`, body)
	})

	t.Run("bodyless row range keeps its header", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, f.srv.URL+"/rest/v1/rows", nil)
		require.NoError(t, err)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := f.srv.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "*/0", resp.Header.Get("Content-Range"))
		require.Empty(t, resp.Header.Get("X-Goforward-Parked-Content-Range"))
	})

	t.Run("byte range is not compressed", func(t *testing.T) {
		t.Parallel()
		resp, body := get(t, f, "/rest/v1/partial", headers)
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		require.Empty(t, resp.Header.Get("Content-Encoding"))
		require.Equal(t, "bytes 0-2047/4096", resp.Header.Get("Content-Range"))
		require.Equal(t, strings.Repeat("abcdefgh", 256), body)
	})
}
