package goforward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/goforward/goforward/internal/security"
)

// Storage is the server's storage service, for code running inside serve. Every call acts as
// a Principal exactly as a /storage/v1 request with that caller's token would: the storage
// policies on storage.objects (row-level security) and the bucket's limits apply, so passing
// the caller of a function endpoint (PrincipalFrom) lets it do no more than it could itself.
type Storage interface {
	// Put stores the bytes r yields as object name in bucket, replacing an object already
	// there (as an upload with x-upsert: true), with contentType (empty: detected).
	Put(ctx context.Context, as Principal, bucket, name string, r io.Reader, contentType string) error
	// Get returns the object's bytes; the caller closes the reader.
	Get(ctx context.Context, as Principal, bucket, name string) (io.ReadCloser, error)
}

// Storage returns the storage service of the running server. Its calls fail before serve
// has built the storage service, and on a node that does not run it.
func (a *App) Storage() Storage { return storageAccess{a} }

type storageAccess struct{ a *App }

func (s storageAccess) do(ctx context.Context, as Principal, method, bucket, name string, body io.Reader, header http.Header) (*pipeResponse, error) {
	s.a.mu.Lock()
	h := s.a.storage
	s.a.mu.Unlock()
	if h == nil {
		return nil, errors.New("goforward: storage: the storage service is not running")
	}
	if as.Role == "" {
		return nil, errors.New("goforward: storage: the principal has no role")
	}
	p := security.Principal{Role: as.Role, Subject: as.UserID}
	if as.Claims != nil {
		claims, err := json.Marshal(as.Claims)
		if err != nil {
			return nil, err
		}
		p.Claims = claims
	}
	target := "/storage/v1/object/" + url.PathEscape(bucket) + "/" + (&url.URL{Path: name}).EscapedPath()
	req, err := http.NewRequestWithContext(security.WithPrincipal(ctx, p), method, target, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp := serveToPipe(h, req)
	if resp.status/100 != 2 {
		defer resp.body.Close()
		var e struct {
			Message string `json:"message"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.body, 64<<10))
		if json.Unmarshal(raw, &e) != nil || e.Message == "" {
			e.Message = http.StatusText(resp.status)
		}
		return nil, fmt.Errorf("goforward: storage: %s %s/%s: %d %s", method, bucket, name, resp.status, e.Message)
	}
	return resp, nil
}

func (s storageAccess) Put(ctx context.Context, as Principal, bucket, name string, r io.Reader, contentType string) error {
	header := http.Header{"X-Upsert": {"true"}}
	if contentType != "" {
		header.Set("Content-Type", contentType)
	}
	resp, err := s.do(ctx, as, http.MethodPost, bucket, name, r, header)
	if err != nil {
		return err
	}
	return resp.body.Close()
}

func (s storageAccess) Get(ctx context.Context, as Principal, bucket, name string) (io.ReadCloser, error) {
	resp, err := s.do(ctx, as, http.MethodGet, bucket, name, nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

func (a *App) setStorage(h http.Handler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.storage = h
}

// pipeResponse is a response streamed from a handler running in its own goroutine, so a
// large object is never held in memory whole.
type pipeResponse struct {
	status int
	body   io.ReadCloser
}

type pipeWriter struct {
	header http.Header
	once   sync.Once
	status chan int
	pw     *io.PipeWriter
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // informational answers are not the response
	}
	w.once.Do(func() { w.status <- code })
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(b)
}

func serveToPipe(h http.Handler, req *http.Request) *pipeResponse {
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, status: make(chan int, 1), pw: pw}
	go func() {
		defer func() {
			if v := recover(); v != nil {
				w.WriteHeader(http.StatusInternalServerError)
				pw.CloseWithError(fmt.Errorf("goforward: storage: panic: %v", v))
				return
			}
			w.WriteHeader(http.StatusOK)
			pw.Close()
		}()
		h.ServeHTTP(w, req)
	}()
	return &pipeResponse{status: <-w.status, body: pr}
}
