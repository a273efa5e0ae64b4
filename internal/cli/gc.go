package cli

import "runtime/debug"

// defaultGCPercent is the garbage collector's target used by serve when GOGC is unset. The
// server's live heap is a few megabytes, so Go's default of 100 collects many times a second
// under load; 400 cut the processor time per REST request by ~10 % in bench/RESULTS.md.
const defaultGCPercent = 400

// setDefaultGCPercent sets the collector to defaultGCPercent unless the operator chose GOGC
// (looked up with lookupEnv) and reports whether it did. GOMEMLIMIT still caps the heap either
// way: the runtime collects early when nearing it.
func setDefaultGCPercent(lookupEnv func(string) (string, bool)) bool {
	if _, set := lookupEnv("GOGC"); set {
		return false
	}
	debug.SetGCPercent(defaultGCPercent)
	return true
}
