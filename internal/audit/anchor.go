package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Head is the last link of the chain: what the sealer records outside the database after
// every pass, so that removing the newest links (and their entries) through the database
// is found even though every remaining link still verifies.
type Head struct {
	Seq      int64     `json:"seq"`
	EntryID  int64     `json:"entry_id"`
	Hash     Hash      `json:"hash"`
	SealedAt time.Time `json:"sealed_at"`
}

// headFile is the anchor's name under Dir(data dir).
const headFile = "head.json"

// readAnchor returns the head recorded in dir, or nil when none was recorded yet (a fresh
// data directory, or one that never ran the sealer). dir "" has no anchor.
func readAnchor(dir string) (*Head, error) {
	if dir == "" {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, headFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read the chain head: %w", err)
	}
	var h Head
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("audit: %s: %w", filepath.Join(dir, headFile), err)
	}
	return &h, nil
}

// writeAnchor records h in dir, replacing the previous head in one rename so that a crash
// leaves either the old head or the new one, both of which the database holds.
func writeAnchor(dir string, h Head) error {
	if dir == "" {
		return nil
	}
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	a, err := createAtomic(dir)
	if err != nil {
		return err
	}
	if _, err := a.f.Write(append(data, '\n')); err != nil {
		a.abort()
		return fmt.Errorf("audit: write the chain head: %w", err)
	}
	return a.commit(headFile)
}

// atomicFile is a file written under a temporary name and renamed into place once complete
// and synced, so that a crash leaves either no file or a whole one.
type atomicFile struct {
	dir string
	f   *os.File
}

func createAtomic(dir string) (*atomicFile, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("audit: %w", err)
	}
	return &atomicFile{dir: dir, f: f}, nil
}

// commit syncs the file, renames it to name and syncs the directory.
func (a *atomicFile) commit(name string) error {
	if err := a.f.Sync(); err != nil {
		a.abort()
		return fmt.Errorf("audit: %w", err)
	}
	if err := a.f.Close(); err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("audit: %w", err)
	}
	if err := os.Rename(a.f.Name(), filepath.Join(a.dir, name)); err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("audit: %w", err)
	}
	d, err := os.Open(a.dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: sync %s: %w", a.dir, err)
	}
	return nil
}

// abort removes the unfinished file.
func (a *atomicFile) abort() {
	a.f.Close()
	os.Remove(a.f.Name())
}
