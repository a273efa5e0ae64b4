package storagetest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
	"github.com/goforward/goforward/storagetest"
)

// The built-in local backend, seen through the public interface, passes the suite.
func TestLocalStorage(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) goforward.StorageBackend {
		b, err := goforward.LocalStorage(t.TempDir())
		require.NoError(t, err)
		return b
	})
}
