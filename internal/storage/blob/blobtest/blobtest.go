// Package blobtest is the conformance suite every blob.Backend runs (Kratos' persistence
// test suites are the model): one set of behaviours, asserted the same way against the local
// directory and the S3 backend, so the storage service can rely on the contract rather than
// on an implementation.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/storage/blob"
)

// Run checks that the backends made by newBackend behave as blob.Backend documents. Each
// subtest gets a backend of its own from newBackend and runs in parallel.
func Run(t *testing.T, newBackend func(t *testing.T) blob.Backend) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, b blob.Backend)
	}{
		{"put then open returns the same bytes", testPutOpen},
		{"open reads ranges", testOpenRanges},
		{"missing keys are ErrNotFound", testMissing},
		{"put replaces a blob", testReplace},
		{"a failing reader leaves nothing behind", testFailingReader},
		{"a cancelled context leaves nothing behind", testCancelled},
		{"delete removes and is idempotent", testDelete},
		{"copy makes an independent blob", testCopy},
		{"invalid keys are refused before anything is stored", testInvalidKeys},
		{"a key and a key below it coexist", testNestedKeys},
		{"unusual but valid keys round-trip", testUnusualKeys},
		{"large blobs stream through", testLarge},
		{"concurrent puts leave exactly one whole blob", testConcurrentPuts},
		{"listing finds blobs by prefix", testList},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newBackend(t))
		})
	}
}

func put(t *testing.T, b blob.Backend, key string, data []byte) blob.Attrs {
	t.Helper()
	attrs, err := b.Put(t.Context(), key, bytes.NewReader(data), blob.PutOptions{ContentType: "application/octet-stream"})
	require.NoError(t, err)
	return attrs
}

func read(t *testing.T, b blob.Backend, key string, offset, length int64) []byte {
	t.Helper()
	rc, _, err := b.Open(t.Context(), key, offset, length)
	require.NoError(t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	return data
}

func testPutOpen(t *testing.T, b blob.Backend) {
	before := time.Now().Add(-time.Minute)
	attrs := put(t, b, "bucket/folder/file.txt", []byte("hello, world"))
	require.Equal(t, int64(12), attrs.Size)
	require.True(t, attrs.ModTime.After(before), "mod time %v", attrs.ModTime)

	rc, openAttrs, err := b.Open(t.Context(), "bucket/folder/file.txt", 0, -1)
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "hello, world", string(data))
	require.Equal(t, int64(12), openAttrs.Size)

	stat, err := b.Stat(t.Context(), "bucket/folder/file.txt")
	require.NoError(t, err)
	require.Equal(t, int64(12), stat.Size)

	empty := put(t, b, "bucket/empty", nil)
	require.Equal(t, int64(0), empty.Size)
	require.Empty(t, read(t, b, "bucket/empty", 0, -1))
}

func testOpenRanges(t *testing.T, b blob.Backend) {
	put(t, b, "r/digits", []byte("0123456789"))
	require.Equal(t, "234", string(read(t, b, "r/digits", 2, 3)))
	require.Equal(t, "789", string(read(t, b, "r/digits", 7, -1)))
	require.Equal(t, "89", string(read(t, b, "r/digits", 8, 100)), "a length past the end is cut short")
	require.Empty(t, read(t, b, "r/digits", 10, -1), "offset equal to the size is an empty read")
	require.Empty(t, read(t, b, "r/digits", 3, 0))

	_, _, err := b.Open(t.Context(), "r/digits", 11, -1)
	require.ErrorIs(t, err, blob.ErrInvalidRange)
}

func testMissing(t *testing.T, b blob.Backend) {
	_, _, err := b.Open(t.Context(), "nothing/here", 0, -1)
	require.ErrorIs(t, err, blob.ErrNotFound)
	_, err = b.Stat(t.Context(), "nothing/here")
	require.ErrorIs(t, err, blob.ErrNotFound)
	put(t, b, "file", []byte("x"))
	_, err = b.Stat(t.Context(), "file/below")
	require.ErrorIs(t, err, blob.ErrNotFound, "a key below a blob's key is just missing")
}

func testReplace(t *testing.T, b blob.Backend) {
	put(t, b, "k/v", []byte("first version, longer"))
	put(t, b, "k/v", []byte("second"))
	require.Equal(t, "second", string(read(t, b, "k/v", 0, -1)))
}

// failingReader yields some bytes and then fails, like a client that disconnects.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func testFailingReader(t *testing.T, b blob.Backend) {
	boom := errors.New("client went away")
	// A truncated HTTP body fails with io.ErrUnexpectedEOF, which io.ReadFull also uses for
	// a short read: it must still count as a failure.
	for _, cause := range []error{boom, io.ErrUnexpectedEOF} {
		for _, size := range []int{300 << 10, 3 << 20} {
			_, err := b.Put(t.Context(), "f/new", &failingReader{data: make([]byte, size), err: cause}, blob.PutOptions{})
			require.ErrorIs(t, err, cause)
			_, err = b.Stat(t.Context(), "f/new")
			require.ErrorIs(t, err, blob.ErrNotFound, "%v after %d bytes", cause, size)
		}
	}
	var err error

	put(t, b, "f/old", []byte("kept"))
	_, err = b.Put(t.Context(), "f/old", &failingReader{data: []byte("partial"), err: boom}, blob.PutOptions{})
	require.ErrorIs(t, err, boom)
	require.Equal(t, "kept", string(read(t, b, "f/old", 0, -1)), "a failed replace keeps the old blob")
	assertOnly(t, b, "f/", "f/old")
}

// cancellingReader cancels its context half way through.
type cancellingReader struct {
	left   int
	cancel context.CancelFunc
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		r.cancel()
		return 0, errors.New("read after cancel")
	}
	n := min(len(p), r.left)
	clear(p[:n])
	r.left -= n
	return n, nil
}

func testCancelled(t *testing.T, b blob.Backend) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := b.Put(ctx, "c/key", &cancellingReader{left: 200 << 10, cancel: cancel}, blob.PutOptions{})
	require.Error(t, err)
	_, err = b.Stat(t.Context(), "c/key")
	require.ErrorIs(t, err, blob.ErrNotFound)
}

func testDelete(t *testing.T, b blob.Backend) {
	put(t, b, "d/a/b", []byte("x"))
	require.NoError(t, b.Delete(t.Context(), "d/a/b"))
	_, err := b.Stat(t.Context(), "d/a/b")
	require.ErrorIs(t, err, blob.ErrNotFound)
	require.NoError(t, b.Delete(t.Context(), "d/a/b"), "deleting again is fine")
	require.NoError(t, b.Delete(t.Context(), "never/was"))
	// The place the deleted key lived in can be used again.
	put(t, b, "d/a/b", []byte("again"))
	put(t, b, "d/a/b/c", []byte("below"))
	require.Equal(t, "again", string(read(t, b, "d/a/b", 0, -1)))
}

func testCopy(t *testing.T, b blob.Backend) {
	put(t, b, "src/one", []byte("original"))
	require.NoError(t, b.Copy(t.Context(), "src/one", "dst/deep/two"))
	require.Equal(t, "original", string(read(t, b, "dst/deep/two", 0, -1)))

	require.NoError(t, b.Delete(t.Context(), "src/one"))
	require.Equal(t, "original", string(read(t, b, "dst/deep/two", 0, -1)), "the copy outlives its source")

	put(t, b, "src/three", []byte("replacement"))
	require.NoError(t, b.Copy(t.Context(), "src/three", "dst/deep/two"))
	require.Equal(t, "replacement", string(read(t, b, "dst/deep/two", 0, -1)), "copy replaces the destination")

	require.ErrorIs(t, b.Copy(t.Context(), "src/missing", "dst/x"), blob.ErrNotFound)
	_, err := b.Stat(t.Context(), "dst/x")
	require.ErrorIs(t, err, blob.ErrNotFound)
}

func testInvalidKeys(t *testing.T, b blob.Backend) {
	put(t, b, "inside/secret", []byte("s"))
	bad := []string{
		"", "/etc/passwd", "../escape", "a/../../escape", "a/..", "..", ".", "a/./b", "a//b",
		"a/", "nul\x00byte", "tab\tchar", "del\x7fchar", "c1\u0085char", `back\slash`,
		"tilde~", "\xff\xfe", strings.Repeat("k", blob.MaxKeyLength+1),
	}
	for _, key := range bad {
		_, err := b.Put(t.Context(), key, strings.NewReader("x"), blob.PutOptions{})
		require.ErrorIs(t, err, blob.ErrInvalidKey, "Put %q", key)
		_, _, err = b.Open(t.Context(), key, 0, -1)
		require.ErrorIs(t, err, blob.ErrInvalidKey, "Open %q", key)
		_, err = b.Stat(t.Context(), key)
		require.ErrorIs(t, err, blob.ErrInvalidKey, "Stat %q", key)
		require.ErrorIs(t, b.Delete(t.Context(), key), blob.ErrInvalidKey, "Delete %q", key)
		require.ErrorIs(t, b.Copy(t.Context(), "inside/secret", key), blob.ErrInvalidKey, "Copy to %q", key)
		require.ErrorIs(t, b.Copy(t.Context(), key, "inside/copy"), blob.ErrInvalidKey, "Copy from %q", key)
	}
	require.Equal(t, "s", string(read(t, b, "inside/secret", 0, -1)))
}

func testNestedKeys(t *testing.T, b blob.Backend) {
	put(t, b, "n/a", []byte("parent"))
	put(t, b, "n/a/b", []byte("child"))
	put(t, b, "n/a/b/c", []byte("grandchild"))
	require.Equal(t, "parent", string(read(t, b, "n/a", 0, -1)))
	require.Equal(t, "child", string(read(t, b, "n/a/b", 0, -1)))
	require.NoError(t, b.Delete(t.Context(), "n/a/b"))
	require.Equal(t, "grandchild", string(read(t, b, "n/a/b/c", 0, -1)))
}

func testUnusualKeys(t *testing.T, b blob.Backend) {
	keys := []string{
		"with space/and (parens) & more!.txt", "unicode/日本語/ファイル.png", "emoji/😀.bin",
		".hidden/.file", "dots/a..b/...", "query?and=equals;semi:colon+plus,comma@at$dollar'quote*",
		"%percent/#hash/[brackets]",
	}
	for i, key := range keys {
		body := fmt.Appendf(nil, "blob %d", i)
		put(t, b, key, body)
		require.Equal(t, body, read(t, b, key, 0, -1), key)
	}
}

// pattern is an endless deterministic byte stream, so large blobs need no memory.
type pattern struct{ n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte((p.n*131 + p.n>>13) % 251)
		p.n++
	}
	return len(b), nil
}

func testLarge(t *testing.T, b blob.Backend) {
	const size = 24 << 20
	want := sha256.New()
	_, err := io.CopyN(want, &pattern{}, size)
	require.NoError(t, err)

	attrs, err := b.Put(t.Context(), "large/blob", io.LimitReader(&pattern{}, size), blob.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(size), attrs.Size)

	rc, _, err := b.Open(t.Context(), "large/blob", 0, -1)
	require.NoError(t, err)
	defer rc.Close()
	got := sha256.New()
	n, err := io.Copy(got, rc)
	require.NoError(t, err)
	require.Equal(t, int64(size), n)
	require.Equal(t, want.Sum(nil), got.Sum(nil))

	tail := read(t, b, "large/blob", size-5, -1)
	expect := make([]byte, size)
	_, _ = io.ReadFull(&pattern{}, expect)
	require.Equal(t, expect[size-5:], tail)
}

func testConcurrentPuts(t *testing.T, b blob.Backend) {
	const writers, size = 6, 512 << 10
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, err := b.Put(t.Context(), "same/key", bytes.NewReader(bytes.Repeat([]byte{byte('a' + i)}, size)), blob.PutOptions{})
			require.NoError(t, err)
		})
	}
	wg.Wait()
	data := read(t, b, "same/key", 0, -1)
	require.Len(t, data, size)
	require.Equal(t, bytes.Repeat(data[:1], size), data, "the blob is one writer's, whole")
}

func testList(t *testing.T, b blob.Backend) {
	lister, ok := b.(blob.Lister)
	if !ok {
		return // an optional capability: nothing to check
	}
	put(t, b, "l/one", []byte("1"))
	put(t, b, "l/dir/two", []byte("22"))
	put(t, b, "other/three", []byte("333"))
	got := map[string]int64{}
	require.NoError(t, lister.List(t.Context(), "l/", func(key string, attrs blob.Attrs) error {
		got[key] = attrs.Size
		return nil
	}))
	require.Equal(t, map[string]int64{"l/one": 1, "l/dir/two": 2}, got)

	stop := errors.New("stop")
	require.ErrorIs(t, lister.List(t.Context(), "", func(string, blob.Attrs) error { return stop }), stop)
}

// assertOnly checks, where the backend can list, that prefix holds exactly the keys given.
func assertOnly(t *testing.T, b blob.Backend, prefix string, keys ...string) {
	t.Helper()
	lister, ok := b.(blob.Lister)
	if !ok {
		return
	}
	var got []string
	require.NoError(t, lister.List(t.Context(), prefix, func(key string, _ blob.Attrs) error {
		got = append(got, key)
		return nil
	}))
	require.ElementsMatch(t, keys, got)
}
