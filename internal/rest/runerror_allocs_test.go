package rest

import "testing"

// TestRunErrorAllocs: a request that succeeded passes through runError without an allocation
// (it runs on every request). Not parallel: testing.AllocsPerRun counts the whole process's
// allocations.
func TestRunErrorAllocs(t *testing.T) {
	if allocs := testing.AllocsPerRun(100, func() { _ = runError(nil, "anon") }); allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}
