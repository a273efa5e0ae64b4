// Package s3test runs an S3-compatible server in the test process (gofakes3, in memory, on a
// loopback httptest server), so the S3 backend and the storage service are tested against the
// S3 protocol without a MinIO build.
package s3test

import (
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/storage/s3"
)

// Credentials the fake server is used with; gofakes3 accepts any.
const (
	AccessKey = "test-access-key"
	SecretKey = "test-secret-key"
)

// Server starts an S3 server on loopback holding one empty bucket, and returns the Config
// that reaches it. The server stops when the test ends.
func Server(t testing.TB, bucket string) s3.Config {
	t.Helper()
	mem := s3mem.New()
	require.NoError(t, mem.CreateBucket(bucket))
	srv := httptest.NewServer(gofakes3.New(mem, gofakes3.WithoutVersioning()).Server())
	t.Cleanup(srv.Close)
	return s3.Config{
		Endpoint:     srv.URL,
		Region:       "us-east-1",
		Bucket:       bucket,
		AccessKey:    AccessKey,
		SecretKey:    SecretKey,
		UsePathStyle: true,
		PartSize:     s3.MinPartSize,
	}
}

// Backend returns an S3 backend on a fresh fake server.
func Backend(t testing.TB) *s3.Backend {
	t.Helper()
	b, err := s3.New(t.Context(), Server(t, "blobs"))
	require.NoError(t, err)
	return b
}
