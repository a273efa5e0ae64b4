// Package e2e holds black-box tests of the real goforward binary: it is built once, started
// as a user would start it, and driven over HTTP and its own CLI.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/goforward/goforward/internal/pgtest"
)

// binary is the goforward executable built for this test run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goforward-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "goforward")
	build := exec.Command("go", "build", "-o", binary, "github.com/goforward/goforward/cmd/goforward")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build goforward:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}
