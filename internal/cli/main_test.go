package cli

import (
	"testing"

	"github.com/goforward/goforward/internal/pgtest"
)

// TestMain gives the tests that run services (service_admin_*_test.go) a PostgreSQL server.
func TestMain(m *testing.M) { pgtest.Main(m) }
