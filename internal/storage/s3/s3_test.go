package s3_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/storage/blob"
	"github.com/goforward/goforward/internal/storage/blob/blobtest"
	"github.com/goforward/goforward/internal/storage/s3"
	"github.com/goforward/goforward/internal/storage/s3/s3test"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Backend { return s3test.Backend(t) })
}

func TestPrefixKeepsKeysInsideIt(t *testing.T) {
	t.Parallel()
	cfg := s3test.Server(t, "shared")
	cfg.Prefix = "goforward/"
	prefixed, err := s3.New(t.Context(), cfg)
	require.NoError(t, err)
	cfg.Prefix = ""
	whole, err := s3.New(t.Context(), cfg)
	require.NoError(t, err)

	_, err = prefixed.Put(t.Context(), "bucket/key", strings.NewReader("x"), blob.PutOptions{ContentType: "text/plain"})
	require.NoError(t, err)
	_, err = whole.Stat(t.Context(), "goforward/bucket/key")
	require.NoError(t, err, "the prefixed backend wrote under its prefix")
	_, err = whole.Stat(t.Context(), "bucket/key")
	require.ErrorIs(t, err, blob.ErrNotFound)
}

func TestNewRefusesAMissingBucketAndBadConfig(t *testing.T) {
	t.Parallel()
	cfg := s3test.Server(t, "exists")
	cfg.Bucket = "missing"
	_, err := s3.New(t.Context(), cfg)
	require.ErrorContains(t, err, `bucket "missing" does not exist`)

	cfg.Bucket = "exists"
	cfg.Endpoint = "127.0.0.1:9000"
	_, err = s3.New(t.Context(), cfg)
	require.ErrorContains(t, err, "must be an http(s) URL")

	cfg = s3test.Server(t, "small")
	cfg.PartSize = 1 << 20
	_, err = s3.New(t.Context(), cfg)
	require.ErrorContains(t, err, "PartSize")
}
