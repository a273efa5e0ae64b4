// Package storagetest is the conformance suite for goforward.StorageBackend: the same checks
// the built-in local and S3 backends pass, so a custom backend can show it keeps the contract
// the storage service relies on (atomic puts, ranges, copies, key validation, listing).
package storagetest

import (
	"testing"

	"github.com/goforward/goforward"
	"github.com/goforward/goforward/internal/embedglue"
	"github.com/goforward/goforward/internal/storage/blob"
	"github.com/goforward/goforward/internal/storage/blob/blobtest"
)

// Run checks that the backends newBackend makes behave as goforward.StorageBackend documents,
// each check in a parallel subtest with a backend of its own (newBackend may register
// cleanups with t). Call it from a test of the backend's package.
func Run(t *testing.T, newBackend func(t *testing.T) goforward.StorageBackend) {
	t.Helper()
	blobtest.Run(t, func(t *testing.T) blob.Backend { return embedglue.StorageBackend(newBackend(t)) })
}
