// Package datadir owns the layout of Go Forward's data directory and the two small files the
// server keeps there: the persistent state (secrets generated on first start) and the runtime
// record that `goforward status` reads while a server runs.
package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Dir is a data directory. The zero value is not usable; use New.
type Dir struct {
	root string
}

// New returns the data directory at path, made absolute so that it means the same thing to
// the server, to `goforward status` and to the PostgreSQL child process.
func New(path string) (Dir, error) {
	if path == "" {
		return Dir{}, errors.New("data directory path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Dir{}, fmt.Errorf("data directory %q: %w", path, err)
	}
	return Dir{root: abs}, nil
}

// Root is the absolute path of the directory.
func (d Dir) Root() string { return d.root }

// PostgresDir is where the managed PostgreSQL cluster lives.
func (d Dir) PostgresDir() string { return filepath.Join(d.root, "postgres") }

// StoragePath is where the local storage backend keeps objects.
func (d Dir) StoragePath() string { return filepath.Join(d.root, "storage") }

func (d Dir) statePath() string   { return filepath.Join(d.root, "state.json") }
func (d Dir) runtimePath() string { return filepath.Join(d.root, "runtime.json") }

// Ensure creates the directory if needed. When running as root it is made traversable by
// others (0711, no listing) because the managed PostgreSQL runs as the postgres user and must
// reach its cluster below it; the secrets inside stay 0600.
func (d Dir) Ensure() error {
	mode := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		mode = 0o711
	}
	if err := os.MkdirAll(d.root, mode); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := os.Chmod(d.root, mode); err != nil {
		return fmt.Errorf("set data directory permissions: %w", err)
	}
	return nil
}

// writeJSONFile writes v to path atomically (temp file, fsync, rename) with mode 0600, so a
// crash never leaves a half-written secret file behind.
func writeJSONFile(path string, v any) error {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(body, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func readJSONFile(path string, v any) error {
	body, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s is damaged: %w", path, err)
	}
	return nil
}
