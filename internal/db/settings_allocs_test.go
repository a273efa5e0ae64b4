package db

import (
	"net/http"
	"strings"
	"testing"
)

// TestConstantStringAllocs: the roles and methods every request's settings carry are boxed
// without a heap allocation, whatever string value they arrive in. Not parallel:
// testing.AllocsPerRun counts the whole process's allocations.
func TestConstantStringAllocs(t *testing.T) {
	for _, v := range []string{RoleAnon, RoleAuthenticated, RoleServiceRole, http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		runtime := strings.Clone(v) // not the constant itself, as a request's fields are not
		var boxed any
		if allocs := testing.AllocsPerRun(100, func() { boxed = constantString(runtime) }); allocs != 0 {
			t.Errorf("%s: %v allocations", v, allocs)
		}
		if boxed != v {
			t.Errorf("boxed %v, want %s", boxed, v)
		}
	}
}
