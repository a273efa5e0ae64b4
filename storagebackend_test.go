package goforward_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
	"github.com/goforward/goforward/storagetest"
)

// memBackend keeps blobs in a map: the smallest StorageBackend that keeps the contract.
type memBackend struct {
	mu    sync.Mutex
	blobs map[string]memBlob
}

type memBlob struct {
	data []byte
	mod  time.Time
}

func newMemBackend() *memBackend { return &memBackend{blobs: map[string]memBlob{}} }

func (m *memBackend) Put(ctx context.Context, key string, r io.Reader, _ goforward.BlobPutOptions) (goforward.BlobAttrs, error) {
	if err := goforward.CheckBlobKey(key); err != nil {
		return goforward.BlobAttrs{}, err
	}
	data, err := io.ReadAll(r)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return goforward.BlobAttrs{}, fmt.Errorf("memory: put %s: %w", key, err)
	}
	b := memBlob{data: data, mod: time.Now()}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[key] = b
	return goforward.BlobAttrs{Size: int64(len(data)), ModTime: b.mod}, nil
}

func (m *memBackend) get(key string) (memBlob, error) {
	if err := goforward.CheckBlobKey(key); err != nil {
		return memBlob{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[key]
	if !ok {
		return memBlob{}, fmt.Errorf("memory: %s: %w", key, goforward.ErrBlobNotFound)
	}
	return b, nil
}

func (m *memBackend) Open(_ context.Context, key string, offset, length int64) (io.ReadCloser, goforward.BlobAttrs, error) {
	b, err := m.get(key)
	if err != nil {
		return nil, goforward.BlobAttrs{}, err
	}
	size := int64(len(b.data))
	if offset > size {
		return nil, goforward.BlobAttrs{}, goforward.ErrBlobInvalidRange
	}
	end := size
	if length >= 0 && offset+length < size {
		end = offset + length
	}
	return io.NopCloser(bytes.NewReader(b.data[offset:end])), goforward.BlobAttrs{Size: size, ModTime: b.mod}, nil
}

func (m *memBackend) Stat(_ context.Context, key string) (goforward.BlobAttrs, error) {
	b, err := m.get(key)
	if err != nil {
		return goforward.BlobAttrs{}, err
	}
	return goforward.BlobAttrs{Size: int64(len(b.data)), ModTime: b.mod}, nil
}

func (m *memBackend) Delete(_ context.Context, key string) error {
	if err := goforward.CheckBlobKey(key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, key)
	return nil
}

func (m *memBackend) Copy(_ context.Context, src, dst string) error {
	if err := goforward.CheckBlobKey(dst); err != nil {
		return err
	}
	b, err := m.get(src)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[dst] = memBlob{data: b.data, mod: time.Now()} // blobs are never changed in place
	return nil
}

func (m *memBackend) List(_ context.Context, prefix string, fn func(string, goforward.BlobAttrs) error) error {
	m.mu.Lock()
	found := map[string]goforward.BlobAttrs{}
	for k, b := range m.blobs {
		if strings.HasPrefix(k, prefix) {
			found[k] = goforward.BlobAttrs{Size: int64(len(b.data)), ModTime: b.mod}
		}
	}
	m.mu.Unlock()
	for k, a := range found {
		if err := fn(k, a); err != nil {
			return err
		}
	}
	return nil
}

// The test's own backend keeps the contract the storage service relies on.
func TestMemoryBackendConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) goforward.StorageBackend { return newMemBackend() })
}

// An app that registers a backend and names it in storage.backend keeps uploaded objects'
// bytes there, and serves them back from it.
func TestCustomStorageBackend(t *testing.T) {
	logs := &syncBuffer{}
	mem := newMemBackend()
	app, _ := newApp(t, logs, func(c *goforward.Config) { c.Storage.Backend = "memory" })
	require.NoError(t, app.StorageBackend("memory", mem))
	r := start(t, app, logs)
	auth := map[string]string{"apikey": r.serviceKey, "Authorization": "Bearer " + r.serviceKey}

	status, body, _ := call(t, http.MethodPost, r.url+"/storage/v1/bucket", withJSON(auth), `{"name":"docs"}`)
	require.Equal(t, http.StatusOK, status, "%v", body)
	status, body, _ = call(t, http.MethodPost, r.url+"/storage/v1/object/docs/hello.txt",
		map[string]string{"apikey": r.serviceKey, "Authorization": "Bearer " + r.serviceKey, "Content-Type": "text/plain"}, "hello, memory")
	require.Equal(t, http.StatusOK, status, "%v", body)

	mem.mu.Lock()
	var stored []string
	for k, b := range mem.blobs {
		stored = append(stored, k+"="+string(b.data))
	}
	mem.mu.Unlock()
	require.Len(t, stored, 1)
	require.True(t, strings.HasPrefix(stored[0], "docs/") && strings.HasSuffix(stored[0], "=hello, memory"), "%v", stored)

	status, body, _ = call(t, http.MethodGet, r.url+"/storage/v1/object/docs/hello.txt", auth, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "hello, memory", body["raw"])
}

func withJSON(h map[string]string) map[string]string {
	out := map[string]string{"Content-Type": "application/json"}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// A storage.backend no program registered is an invalid configuration, named as such.
func TestUnknownStorageBackend(t *testing.T) {
	var out, errOut bytes.Buffer
	app := goforward.New(goforward.WithConfig(func(c *goforward.Config) { c.Storage.Backend = "memroy" }))
	require.NoError(t, app.StorageBackend("memory", newMemBackend()))
	app.RootCmd().SetArgs([]string{"serve"})
	app.RootCmd().SetOut(&out)
	app.RootCmd().SetErr(&errOut)
	err := app.Start(context.Background())
	require.Equal(t, 2, goforward.ExitCode(err))
	require.Contains(t, errOut.String(), `storage.backend`)
	require.Contains(t, errOut.String(), `must be one of local, s3, memory`)

	require.Error(t, app.StorageBackend("memory", newMemBackend()), "a name is registered once")
	require.Error(t, app.StorageBackend("s3", newMemBackend()), "built-in names are taken")
}
