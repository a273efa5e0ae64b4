package goforward

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/goforward/goforward/internal/embedglue"
	"github.com/goforward/goforward/internal/storage/blob"
	"github.com/goforward/goforward/internal/storage/localfs"
)

// Errors a StorageBackend returns (wrapped or not); the storage service branches on them with
// errors.Is.
var (
	// ErrBlobNotFound: no blob is stored under the key.
	ErrBlobNotFound = blob.ErrNotFound
	// ErrBlobInvalidKey: the key breaks the rules of CheckBlobKey, or a limit of the backend's.
	ErrBlobInvalidKey = blob.ErrInvalidKey
	// ErrBlobInvalidRange: Open was asked for an offset beyond the end of the blob.
	ErrBlobInvalidRange = blob.ErrInvalidRange
)

// BlobAttrs describes a stored blob.
type BlobAttrs struct {
	// Size is the blob's length in bytes.
	Size int64
	// ModTime is when the blob was last written (or copied into place).
	ModTime time.Time
}

// BlobPutOptions are hints a backend may keep beside the bytes; the storage service never
// reads them back.
type BlobPutOptions struct {
	// ContentType is the object's MIME type. Empty: the backend's default.
	ContentType string
}

// StorageBackend is where the storage service keeps object bytes: a plain key → bytes store.
// Object metadata lives in PostgreSQL, and every upload is written under a fresh key, so a
// backend needs no locking, versioning or metadata of its own. Every method first checks its
// keys with CheckBlobKey, returning an error wrapping ErrBlobInvalidKey. Implementations must
// be safe for concurrent use. Package storagetest checks that an implementation behaves as
// documented here; register one with App.StorageBackend.
type StorageBackend interface {
	// Put stores everything r yields under key, replacing any blob already there. It is
	// atomic: readers see the old blob or the whole new one, never a part. If r fails, or
	// ctx ends, Put returns an error that wraps r's error (or ctx's) and leaves nothing
	// behind. Memory use does not grow with the size of the blob.
	Put(ctx context.Context, key string, r io.Reader, opts BlobPutOptions) (BlobAttrs, error)
	// Open returns a reader of length bytes of the blob starting at offset (length < 0: to
	// the end; a length past the end is cut short) and the blob's attributes. An offset
	// equal to the size gives an empty reader; a larger one ErrBlobInvalidRange; a missing
	// blob ErrBlobNotFound. The caller closes the reader.
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, BlobAttrs, error)
	// Stat returns the blob's attributes, or ErrBlobNotFound.
	Stat(ctx context.Context, key string) (BlobAttrs, error)
	// Delete removes the blob. Deleting a key that holds nothing is not an error.
	Delete(ctx context.Context, key string) error
	// Copy stores a copy of the blob at src under dst, atomically as Put does; a later
	// change to either leaves the other as it was. A missing src is ErrBlobNotFound.
	Copy(ctx context.Context, src, dst string) error
	// List calls fn for every blob whose key starts with prefix (a plain string prefix), in
	// no particular order, until fn returns an error, which List then returns. The storage
	// service uses it to reclaim blobs a crash left without a metadata row.
	List(ctx context.Context, prefix string, fn func(key string, attrs BlobAttrs) error) error
}

// CheckBlobKey reports whether key is acceptable to every backend, wrapping ErrBlobInvalidKey
// when it is not: a relative, slash-separated path of at most 2048 bytes of valid UTF-8 whose
// segments are neither empty, "." nor "..", with no control character, no backslash and no
// '~' (which backends may use in names of their own). A key that passes can name nothing outside the backend's own space on any file system.
func CheckBlobKey(key string) error { return blob.CheckKey(key) }

// LocalStorage returns the built-in local backend (storage.backend: local) keeping blobs in
// dir, which is created (0700) when missing: a base for a backend that wraps it, or a
// reference for storagetest.
func LocalStorage(dir string) (StorageBackend, error) {
	b, err := localfs.New(localfs.Config{Dir: dir})
	if err != nil {
		return nil, err
	}
	return fromBlob{b}, nil
}

// StorageBackend makes b the blob backend used when the configuration's storage.backend is
// name (for example GOFORWARD_STORAGE_BACKEND=name). The built-in names local and s3 are
// taken; any other name storage.backend gives that no program registered makes every
// command fail with an invalid configuration.
func (a *App) StorageBackend(name string, b StorageBackend) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case b == nil:
		return fmt.Errorf("goforward: storage backend %q: nil backend", name)
	case name == "" || name == "local" || name == "s3":
		return fmt.Errorf("goforward: storage backend name %q is empty or built in", name)
	case a.emb.StorageBackends[name] != nil:
		return fmt.Errorf("goforward: storage backend %q is already registered", name)
	}
	if a.emb.StorageBackends == nil {
		a.emb.StorageBackends = map[string]blob.Backend{}
	}
	a.emb.StorageBackends[name] = toBlob(b)
	return nil
}

// The conformance suite (package storagetest) runs both adapters, even around the built-in
// backend, so what it checks is what the storage service gets.
func init() {
	embedglue.StorageBackend = func(b any) blob.Backend { return toBlobBackend{b.(StorageBackend)} }
}

// toBlob adapts b to the storage service's contract.
func toBlob(b StorageBackend) blob.Backend {
	if f, ok := b.(fromBlob); ok {
		return f.b // keep the built-in backend's own capabilities (sendfile)
	}
	return toBlobBackend{b}
}

type toBlobBackend struct{ b StorageBackend }

func (t toBlobBackend) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) (blob.Attrs, error) {
	a, err := t.b.Put(ctx, key, r, BlobPutOptions{ContentType: opts.ContentType})
	return blob.Attrs(a), err
}

func (t toBlobBackend) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, blob.Attrs, error) {
	rc, a, err := t.b.Open(ctx, key, offset, length)
	return rc, blob.Attrs(a), err
}

func (t toBlobBackend) Stat(ctx context.Context, key string) (blob.Attrs, error) {
	a, err := t.b.Stat(ctx, key)
	return blob.Attrs(a), err
}

func (t toBlobBackend) Delete(ctx context.Context, key string) error { return t.b.Delete(ctx, key) }

func (t toBlobBackend) Copy(ctx context.Context, src, dst string) error {
	return t.b.Copy(ctx, src, dst)
}

func (t toBlobBackend) List(ctx context.Context, prefix string, fn func(string, blob.Attrs) error) error {
	return t.b.List(ctx, prefix, func(key string, a BlobAttrs) error { return fn(key, blob.Attrs(a)) })
}

// fromBlob presents a built-in backend as a StorageBackend.
type fromBlob struct{ b *localfs.Backend }

func (f fromBlob) Put(ctx context.Context, key string, r io.Reader, opts BlobPutOptions) (BlobAttrs, error) {
	a, err := f.b.Put(ctx, key, r, blob.PutOptions{ContentType: opts.ContentType})
	return BlobAttrs(a), err
}

func (f fromBlob) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, BlobAttrs, error) {
	rc, a, err := f.b.Open(ctx, key, offset, length)
	return rc, BlobAttrs(a), err
}

func (f fromBlob) Stat(ctx context.Context, key string) (BlobAttrs, error) {
	a, err := f.b.Stat(ctx, key)
	return BlobAttrs(a), err
}

func (f fromBlob) Delete(ctx context.Context, key string) error { return f.b.Delete(ctx, key) }

func (f fromBlob) Copy(ctx context.Context, src, dst string) error { return f.b.Copy(ctx, src, dst) }

func (f fromBlob) List(ctx context.Context, prefix string, fn func(string, BlobAttrs) error) error {
	return f.b.List(ctx, prefix, func(key string, a blob.Attrs) error { return fn(key, BlobAttrs(a)) })
}
