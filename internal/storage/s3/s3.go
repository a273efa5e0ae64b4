// Package s3 keeps blobs in a bucket of an S3-compatible server (AWS S3, MinIO, Ceph, R2,
// ...) through minio-go. A blob key becomes the object key, under an optional prefix, so the
// bucket stays readable with any S3 tool.
//
// Uploads stream: minio-go sends a multipart upload whose parts it fills one at a time from
// the reader, so an upload holds one part (Config.PartSize) in memory whatever its size, and
// an upload that fails is aborted, leaving no object behind.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/goforward/goforward/internal/storage/blob"
)

// Defaults and limits applied by New.
const (
	// DefaultPartSize is the multipart part size: the memory one upload holds, and
	// with S3's 10,000-part limit, a largest object of about 156 GiB.
	DefaultPartSize = 16 << 20
	// MinPartSize is S3's smallest part (except the last).
	MinPartSize = 5 << 20
	// maxCopySize is the largest object S3 copies in one request; bigger ones are copied
	// part by part (ComposeObject).
	maxCopySize = 5 << 30
	// singlePutSize: blobs up to this size are sent in a single PUT.
	singlePutSize = 1 << 20
)

// Config configures the S3 backend.
type Config struct {
	// Endpoint is the server's URL, such as https://s3.eu-west-1.amazonaws.com or
	// http://127.0.0.1:9000; http is only for servers on a trusted network. Required.
	Endpoint string
	// Region is the bucket's region. Empty: discovered from the server (us-east-1 for most
	// S3-compatible servers).
	Region string
	// Bucket holds the blobs; it must exist. Required.
	Bucket string
	// Prefix is put in front of every key ("goforward/"), so one bucket can be shared.
	// Empty: keys are used as they are.
	Prefix string
	// AccessKey and SecretKey are the credentials. Empty: anonymous requests.
	AccessKey string
	SecretKey string
	// UsePathStyle addresses the bucket as http://host/bucket/key instead of
	// http://bucket.host/key; MinIO and most self-hosted servers need it.
	UsePathStyle bool
	// PartSize is the multipart part size in bytes. Default DefaultPartSize; at least
	// MinPartSize.
	PartSize uint64
	// Transport carries the HTTP requests. Nil: Go's default transport.
	Transport http.RoundTripper
}

// Backend is a blob.Backend over an S3 bucket.
type Backend struct {
	client   *minio.Client
	bucket   string
	prefix   string
	partSize uint64
}

var (
	_ blob.Backend = (*Backend)(nil)
	_ blob.Lister  = (*Backend)(nil)
)

// New connects to the server and checks that the bucket exists.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3: Config.Bucket is required")
	}
	endpoint, err := url.Parse(cfg.Endpoint)
	if err != nil || endpoint.Host == "" || (endpoint.Scheme != "http" && endpoint.Scheme != "https") {
		return nil, fmt.Errorf("s3: Config.Endpoint %q must be an http(s) URL with a host", cfg.Endpoint)
	}
	switch {
	case cfg.PartSize == 0:
		cfg.PartSize = DefaultPartSize
	case cfg.PartSize < MinPartSize:
		return nil, fmt.Errorf("s3: Config.PartSize must be at least %d bytes", MinPartSize)
	}
	lookup := minio.BucketLookupAuto
	if cfg.UsePathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(endpoint.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       endpoint.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: client: %w", err)
	}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: check bucket %q: %w", cfg.Bucket, err)
	}
	if !exists {
		return nil, fmt.Errorf("s3: bucket %q does not exist", cfg.Bucket)
	}
	return &Backend{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, partSize: cfg.PartSize}, nil
}

func (b *Backend) object(key string) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", err
	}
	return b.prefix + key, nil
}

// Put implements blob.Backend. It holds at most 1 MiB plus one part in memory. The upload runs on a context that the caller's cancellation
// does not reach, so that minio-go can still abort the multipart upload after a failure;
// the caller's context is checked between reads instead, which stops the upload as promptly.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) (blob.Attrs, error) {
	name, err := b.object(key)
	if err != nil {
		return blob.Attrs{}, err
	}
	src := &watchedReader{r: r, done: ctx.Done(), cause: func() error { return ctx.Err() }}
	putOpts := minio.PutObjectOptions{
		ContentType: opts.ContentType,
		PartSize:    b.partSize,
		// Parts carry a CRC32C checksum the server verifies; signing each payload with
		// SHA-256 as well (aws-chunked streaming, which minio-go uses over plain http)
		// adds nothing to that and is not understood by every S3-compatible server.
		DisableContentSha256: true,
	}
	// A blob that fits in the probe goes up in one PUT (one request rather than the three
	// of a multipart upload); a longer one streams as a multipart upload.
	probe := make([]byte, singlePutSize)
	n, readErr := io.ReadFull(src, probe)
	if src.err != nil {
		return blob.Attrs{}, fmt.Errorf("s3: put %s: %w", key, src.err)
	}
	var info minio.UploadInfo
	switch {
	case errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF):
		info, err = b.client.PutObject(context.WithoutCancel(ctx), b.bucket, name, bytes.NewReader(probe[:n]), int64(n), putOpts)
	case readErr == nil:
		body := io.MultiReader(bytes.NewReader(probe), src)
		info, err = b.client.PutObject(context.WithoutCancel(ctx), b.bucket, name, body, -1, putOpts)
	}
	if src.err != nil {
		return blob.Attrs{}, fmt.Errorf("s3: put %s: %w", key, src.err)
	}
	if err != nil {
		return blob.Attrs{}, fmt.Errorf("s3: put %s: %w", key, err)
	}
	attrs := blob.Attrs{Size: info.Size, ModTime: info.LastModified}
	if attrs.ModTime.IsZero() {
		// A plain PUT's response does not say when; it was just now.
		attrs.ModTime = time.Now()
	}
	return attrs, nil
}

// watchedReader remembers the first error of the reader it wraps, so Put can report the
// caller's error rather than minio-go's account of it, and fails once done is closed. A
// failure is never passed on as io.ErrUnexpectedEOF, which io.ReadFull and minio-go read as
// a short final read.
type watchedReader struct {
	r     io.Reader
	done  <-chan struct{}
	cause func() error
	err   error
}

func (w *watchedReader) Read(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	select {
	case <-w.done:
		w.err = w.cause()
		return 0, w.err
	default:
	}
	n, err := w.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		w.err = err
		// Wrapped, so minio-go cannot mistake a truncated body's io.ErrUnexpectedEOF for
		// the end of a short last part and complete the upload with it.
		return n, fmt.Errorf("s3: reading the blob failed: %w", err)
	}
	return n, err
}

// Open implements blob.Backend.
func (b *Backend) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, blob.Attrs, error) {
	attrs, err := b.Stat(ctx, key)
	if err != nil {
		return nil, blob.Attrs{}, err
	}
	if offset < 0 || offset > attrs.Size {
		return nil, blob.Attrs{}, fmt.Errorf("%w: offset %d, size %d", blob.ErrInvalidRange, offset, attrs.Size)
	}
	if length < 0 || length > attrs.Size-offset {
		length = attrs.Size - offset
	}
	if length == 0 {
		return io.NopCloser(strings.NewReader("")), attrs, nil
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(offset, offset+length-1); err != nil {
		return nil, blob.Attrs{}, fmt.Errorf("s3: open %s: %w", key, err)
	}
	obj, err := b.client.GetObject(ctx, b.bucket, b.prefix+key, opts)
	if err != nil {
		return nil, blob.Attrs{}, classify(key, err)
	}
	return obj, attrs, nil
}

// Stat implements blob.Backend.
func (b *Backend) Stat(ctx context.Context, key string) (blob.Attrs, error) {
	name, err := b.object(key)
	if err != nil {
		return blob.Attrs{}, err
	}
	info, err := b.client.StatObject(ctx, b.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return blob.Attrs{}, classify(key, err)
	}
	return blob.Attrs{Size: info.Size, ModTime: info.LastModified}, nil
}

// Delete implements blob.Backend.
func (b *Backend) Delete(ctx context.Context, key string) error {
	name, err := b.object(key)
	if err != nil {
		return err
	}
	if err := b.client.RemoveObject(ctx, b.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(classify(key, err), blob.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("s3: delete %s: %w", key, err)
	}
	return nil
}

// Copy implements blob.Backend with a server-side copy: the bytes never pass through here.
func (b *Backend) Copy(ctx context.Context, src, dst string) error {
	from, err := b.object(src)
	if err != nil {
		return err
	}
	to, err := b.object(dst)
	if err != nil {
		return err
	}
	attrs, err := b.Stat(ctx, src)
	if err != nil {
		return err
	}
	source := minio.CopySrcOptions{Bucket: b.bucket, Object: from}
	dest := minio.CopyDestOptions{Bucket: b.bucket, Object: to}
	if attrs.Size > maxCopySize {
		_, err = b.client.ComposeObject(ctx, dest, source)
	} else {
		_, err = b.client.CopyObject(ctx, dest, source)
	}
	if err != nil {
		return classify(src, err)
	}
	return nil
}

// List implements blob.Lister.
func (b *Backend) List(ctx context.Context, prefix string, fn func(key string, attrs blob.Attrs) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when fn returns early
	for info := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix + prefix, Recursive: true}) {
		if info.Err != nil {
			return fmt.Errorf("s3: list %q: %w", prefix, info.Err)
		}
		key, ok := strings.CutPrefix(info.Key, b.prefix)
		if !ok || blob.CheckKey(key) != nil {
			continue // not one of ours
		}
		if err := fn(key, blob.Attrs{Size: info.Size, ModTime: info.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// classify turns S3's "no such key" into blob.ErrNotFound.
func classify(key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %s", blob.ErrNotFound, key)
	}
	return fmt.Errorf("s3: %s: %w", key, err)
}
