package goforward_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/goforward/goforward"
)

// readOnly refuses writes and passes everything else to the backend it wraps: a custom
// backend built on the local one.
type readOnly struct{ goforward.StorageBackend }

func (readOnly) Put(context.Context, string, io.Reader, goforward.BlobPutOptions) (goforward.BlobAttrs, error) {
	return goforward.BlobAttrs{}, errors.New("read-only archive")
}

// Object bytes in a backend of the program's own, chosen with storage.backend: archive (in
// goforward.yaml, or GOFORWARD_STORAGE_BACKEND=archive).
func ExampleApp_StorageBackend() {
	dir, err := os.MkdirTemp("", "archive")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	local, err := goforward.LocalStorage(dir)
	if err != nil {
		log.Fatal(err)
	}
	app := goforward.New(goforward.WithConfig(func(c *goforward.Config) { c.Storage.Backend = "archive" }))
	fmt.Println(app.StorageBackend("archive", readOnly{local}))
	fmt.Println(app.StorageBackend("local", local))
	// Output:
	// <nil>
	// goforward: storage backend name "local" is empty or built in
}

// The built-in local backend, used directly.
func ExampleLocalStorage() {
	dir, err := os.MkdirTemp("", "blobs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := goforward.LocalStorage(dir)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	attrs, err := b.Put(ctx, "avatars/u1.png", strings.NewReader("not really a PNG"), goforward.BlobPutOptions{ContentType: "image/png"})
	fmt.Println(attrs.Size, err)
	rc, _, err := b.Open(ctx, "avatars/u1.png", 4, 6)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	part, _ := io.ReadAll(rc)
	fmt.Printf("%s\n", part)
	_, err = b.Stat(ctx, "avatars/u2.png")
	fmt.Println(errors.Is(err, goforward.ErrBlobNotFound))
	// Output:
	// 16 <nil>
	// really
	// true
}

// Keys a backend must refuse before touching anything.
func ExampleCheckBlobKey() {
	for _, key := range []string{"bucket/folder/file.txt", "../etc/passwd", "a//b"} {
		fmt.Println(key, errors.Is(goforward.CheckBlobKey(key), goforward.ErrBlobInvalidKey))
	}
	// Output:
	// bucket/folder/file.txt false
	// ../etc/passwd true
	// a//b true
}
