package goforward_test

import (
	"flag"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/api.golden from the code")

// TestPublicAPI holds the root package's documented surface (go doc -all) to
// testdata/api.golden, so every change to the public API is a deliberate one: run
// `go test . -run TestPublicAPI -update` and review the diff.
func TestPublicAPI(t *testing.T) {
	out, err := exec.Command("go", "doc", "-all", "github.com/goforward/goforward").Output()
	require.NoError(t, err)
	const golden = "testdata/api.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, out, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), string(out), "the public API changed: run go test . -run TestPublicAPI -update and review testdata/api.golden")
}
