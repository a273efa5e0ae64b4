// Package blob is the contract between the storage service and the places that keep object
// bytes: a local directory (package localfs) or an S3-compatible server (package s3). The
// service keeps all metadata in PostgreSQL and treats a backend as a plain key → bytes store
// whose keys it never reuses: every upload is written under a fresh key, so a backend needs
// no locking, versioning or metadata of its own.
//
// Backend is deliberately small (tusd's DataStore is the model); capabilities only some
// backends have live in their own interfaces (Lister), which the service detects with a type
// assertion. Package blobtest holds the conformance suite every backend must pass.
package blob

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// Errors a backend returns; callers branch on them with errors.Is.
var (
	// ErrNotFound: no blob is stored under the key.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalidKey: the key breaks the rules of CheckKey, or a backend-specific limit (a
	// path segment longer than the file system allows).
	ErrInvalidKey = errors.New("blob: invalid key")
	// ErrInvalidRange: Open was asked for an offset beyond the end of the blob.
	ErrInvalidRange = errors.New("blob: offset beyond the end of the blob")
)

// Attrs describes a stored blob.
type Attrs struct {
	// Size is the blob's length in bytes.
	Size int64
	// ModTime is when the blob was last written (or copied into place).
	ModTime time.Time
}

// PutOptions are hints stored beside the bytes by backends that can (S3 keeps them as object
// metadata, so the bucket stays browsable by other tools); the service never reads them back.
type PutOptions struct {
	// ContentType is the object's MIME type. Empty: the backend's default.
	ContentType string
}

// Backend stores blobs under keys. Every method validates its keys with CheckKey (returning
// ErrInvalidKey) before touching anything, so a key can never reach outside the backend's
// own space. Implementations must be safe for concurrent use.
type Backend interface {
	// Put stores everything r yields under key, replacing any blob already there. It is
	// atomic: readers see the old blob or the whole new one, never a part. If r fails, or
	// ctx ends, Put returns an error that wraps r's error (or ctx's) and leaves nothing
	// behind: no partial blob, no temporary file. Memory use does not grow with the size
	// of the blob.
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (Attrs, error)
	// Open returns a reader of length bytes of the blob starting at offset (length < 0: to
	// the end; a length past the end is cut short) and the blob's attributes. An offset
	// equal to the size gives an empty reader; a larger one ErrInvalidRange. The caller
	// closes the reader.
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Attrs, error)
	// Stat returns the blob's attributes, or ErrNotFound.
	Stat(ctx context.Context, key string) (Attrs, error)
	// Delete removes the blob. Deleting a key that holds nothing is not an error, so a
	// retried cleanup is harmless.
	Delete(ctx context.Context, key string) error
	// Copy stores a copy of the blob at src under dst, atomically as Put does; a later
	// change to either leaves the other as it was. A missing src is ErrNotFound.
	Copy(ctx context.Context, src, dst string) error
}

// Lister is implemented by backends that can enumerate their keys. The storage service uses
// it to find blobs no metadata row refers to any more (left behind by a crash between
// writing a blob and committing its row) and reclaim them.
type Lister interface {
	// List calls fn for every blob whose key starts with prefix (a plain string prefix, not
	// only whole segments), in no particular order, until fn returns an error, which List
	// then returns.
	List(ctx context.Context, prefix string, fn func(key string, attrs Attrs) error) error
}

// FileSection is implemented by the readers Open returns when the bytes are a section of a
// local file (package localfs): the service then hands the file to the connection, and Linux
// copies it with sendfile instead of through user space. The file is the reader's own; its
// offset may be moved, but it must not be closed.
type FileSection interface {
	// FileSection returns the file and where the reader's next byte is in it.
	FileSection() (f *os.File, offset int64)
}
