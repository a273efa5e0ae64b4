//go:build !cgo

package sqlguard

// The guard parses SQL with PostgreSQL's own parser, which is C code built through cgo: build
// with CGO_ENABLED=1 and a C compiler (scripts/deps.sh installs gcc). This line turns the
// compiler's otherwise puzzling errors into a name that says so.
var _ = sqlguard_needs_cgo_build_with_CGO_ENABLED_1_and_a_C_compiler
