package storage_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
	"github.com/goforward/goforward/internal/storage/blob"
	"github.com/goforward/goforward/internal/storage/localfs"
	"github.com/goforward/goforward/internal/storage/s3"
	"github.com/goforward/goforward/internal/storage/s3/s3test"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backendKinds are the backends every endpoint test runs against.
var backendKinds = []string{"local", "s3"}

// env is the storage service behind the real gateway on a fresh database, with its backend.
type env struct {
	*servicetest.Env
	backend blob.Backend
	local   *localfs.Backend // nil on S3
	s3      *s3.Config       // nil on the local backend
	service *storage.Service
}

func newEnv(t *testing.T, kind string, cfg storage.Config) *env {
	t.Helper()
	return newEnvAround(t, kind, cfg, nil)
}

// newEnvAround is newEnv with the service seeing the backend through wrap (nil: as it is),
// for fault injection; e.backend stays the real backend, so tests inspect what it really holds.
func newEnvAround(t *testing.T, kind string, cfg storage.Config, wrap func(blob.Backend) blob.Backend) *env {
	t.Helper()
	e := &env{}
	switch kind {
	case "local":
		b, err := localfs.New(localfs.Config{Dir: filepath.Join(t.TempDir(), "storage")})
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		e.backend, e.local = b, b
	case "s3":
		s3cfg := s3test.Server(t, "blobs")
		b, err := s3.New(t.Context(), s3cfg)
		require.NoError(t, err)
		e.backend, e.s3 = b, &s3cfg
	default:
		t.Fatalf("unknown backend %q", kind)
	}
	served := e.backend
	if wrap != nil {
		served = wrap(e.backend)
	}
	e.Env = servicetest.New(t, func(se *servicetest.Env) []gateway.Service {
		svc, err := storage.New(cfg, storage.Deps{Runner: se.Runner, Keys: se.Keys, Backend: served, Logger: se.Logger})
		require.NoError(t, err)
		e.service = svc
		return []gateway.Service{{
			Name: "storage", Prefix: storage.Prefix, Mount: svc.Mount, Open: storage.OpenPaths, MaxBodyBytes: -1,
		}}
	}, servicetest.Options{APIKeys: true})
	return e
}

// eachBackend runs fn as a parallel subtest per backend, each with an environment of its own.
func eachBackend(t *testing.T, cfg storage.Config, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, kind, cfg))
		})
	}
}

// asService makes a request with the service-role key.
func (e *env) asService(t *testing.T, req servicetest.Request) servicetest.Response {
	t.Helper()
	req.Key = e.ServiceRoleKey()
	return e.Do(t, req)
}

// exec runs SQL as the database owner.
func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := e.DB.Pool.Exec(t.Context(), sql, args...)
	require.NoError(t, err)
}

// count counts rows as the database owner.
func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.DB.Pool.QueryRow(t.Context(), sql, args...).Scan(&n))
	return n
}

// createBucket creates a bucket with the service key.
func (e *env) createBucket(t *testing.T, body map[string]any) {
	t.Helper()
	resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket", Body: body})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
}

// upload sends raw bytes as supabase-js does for a Buffer (POST, content type, cache control).
func (e *env) upload(t *testing.T, token, bucket, name, contentType string, data []byte, header http.Header) servicetest.Response {
	t.Helper()
	h := http.Header{"Content-Type": {contentType}, "Cache-Control": {"max-age=3600"}}
	for k, v := range header {
		h[k] = v
	}
	return e.Do(t, servicetest.Request{
		Method: http.MethodPost, Path: "/storage/v1/object/" + bucket + "/" + name,
		Body: data, Token: token, Header: h,
	})
}

// download fetches an object's bytes with a token.
func (e *env) download(t *testing.T, token, bucket, name string) servicetest.Response {
	t.Helper()
	return e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/" + bucket + "/" + name, Token: token})
}

// blobKeys lists the backend's blobs.
func (e *env) blobKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	require.NoError(t, e.backend.(blob.Lister).List(t.Context(), "", func(key string, _ blob.Attrs) error {
		keys = append(keys, key)
		return nil
	}))
	return keys
}

// storageError is Supabase Storage's error body.
type storageError struct {
	StatusCode string `json:"statusCode"`
	Code       string `json:"code"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

// requireError checks a Storage error: HTTP 400 for client errors, and the body's fields.
func requireError(t *testing.T, resp servicetest.Response, statusCode, code string) storageError {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, resp.Status, "body: %s", resp.Body)
	var body storageError
	resp.JSON(t, &body)
	require.Equal(t, statusCode, body.StatusCode, "body: %s", resp.Body)
	require.Equal(t, code, body.Code, "body: %s", resp.Body)
	require.NotEmpty(t, body.Message)
	return body
}

// multipartBody builds the form supabase-js sends for a Blob: cacheControl, optional
// metadata, and the file part named "".
func multipartBody(t *testing.T, contentType string, data []byte, metadata string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("cacheControl", "60"))
	if metadata != "" {
		require.NoError(t, mw.WriteField("metadata", metadata))
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name=""; filename="blob"`)
	h.Set("Content-Type", contentType)
	part, err := mw.CreatePart(h)
	require.NoError(t, err)
	_, err = part.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}

func decode[T any](t *testing.T, resp servicetest.Response) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(resp.Body, &v), "body: %s", resp.Body)
	return v
}

// patterned returns n deterministic bytes that differ from one seed to another.
func patterned(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func uid(i int) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
}

// readAll reads and closes a body.
func readAll(t *testing.T, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	return data
}

// pngBytes encodes a w×h image, red on the left half and blue on the right.
func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.NRGBA{B: 255, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// emptyForm is a multipart body without a file.
func emptyForm(t *testing.T) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("cacheControl", "60"))
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}
