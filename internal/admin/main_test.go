package admin_test

import (
	"testing"

	"github.com/goforward/goforward/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
