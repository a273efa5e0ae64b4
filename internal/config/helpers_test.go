package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// envOf is a Getenv over a fixed set of variables, so tests never see the real environment.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// writeConfigFile writes a YAML file into a fresh temporary directory and returns its path.
func writeConfigFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "goforward.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// fieldErrorsIn flattens the joined errors Load and Validate return.
func fieldErrorsIn(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// onlyFieldError asserts that err holds exactly one FieldError and returns it.
func onlyFieldError(t *testing.T, err error) *FieldError {
	t.Helper()
	require.Error(t, err)
	fes := fieldErrorsIn(err)
	require.Len(t, fes, 1, "errors: %v", err)
	return fes[0]
}
