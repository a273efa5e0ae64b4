package cli

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// Not parallel: the GC percent belongs to the whole process; each case puts it back.
func TestServeRaisesGCPercentUnlessGOGCIsSet(t *testing.T) {
	original := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(original) })

	unset := func(string) (string, bool) { return "", false }
	require.True(t, setDefaultGCPercent(unset))
	previous := debug.SetGCPercent(100)
	require.Equal(t, defaultGCPercent, previous)

	chosen := func(name string) (string, bool) { return "50", name == "GOGC" }
	require.False(t, setDefaultGCPercent(chosen))
	require.Equal(t, 100, debug.SetGCPercent(100), "an operator's GOGC is left alone")
}
