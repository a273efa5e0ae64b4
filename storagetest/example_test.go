package storagetest_test

import (
	"testing"

	"github.com/goforward/goforward"
	"github.com/goforward/goforward/storagetest"
)

// In the backend's package, a test that runs the whole suite; each check gets a fresh backend
// (here the built-in local one in a temporary directory; a custom backend returns its own).
func ExampleRun() {
	_ = func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) goforward.StorageBackend {
			b, err := goforward.LocalStorage(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return b
		})
	}
}
