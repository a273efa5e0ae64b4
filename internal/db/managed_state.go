package db

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// clusterPaths is the layout of a managed cluster under its root directory.
type clusterPaths struct {
	root  string
	lock  string // cluster.lock, held while a process runs the cluster
	state string // cluster.json
	data  string // PGDATA
	run   string // unix socket directory
	log   string // the server's stdout and stderr
}

func newClusterPaths(root string) clusterPaths {
	return clusterPaths{
		root:  root,
		lock:  filepath.Join(root, "cluster.lock"),
		state: filepath.Join(root, "cluster.json"),
		data:  filepath.Join(root, "data"),
		run:   filepath.Join(root, "run"),
		log:   filepath.Join(root, "postgres.log"),
	}
}

// clusterState is what cluster.json remembers between runs. The password is the only way
// into an existing cluster, so the file is written atomically and readable by its owner only.
type clusterState struct {
	Port         int    `json:"port"`
	Password     string `json:"password"`
	MajorVersion int    `json:"major_version"`
}

// loadClusterState returns the saved state; ok is false when there is none yet.
func loadClusterState(path string) (st clusterState, ok bool, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return clusterState{}, false, nil
	}
	if err != nil {
		return clusterState{}, false, fmt.Errorf("read cluster state: %w", err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return clusterState{}, false, fmt.Errorf("read cluster state %s: %w", path, err)
	}
	if st.Password == "" {
		return clusterState{}, false, fmt.Errorf("cluster state %s has no password", path)
	}
	return st, true, nil
}

// saveClusterState replaces path so that a crash leaves either the old or the new file,
// never a torn one: losing the password would lock us out of our own cluster.
func saveClusterState(path string, st clusterState) error {
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cluster state: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".cluster-*.json")
	if err != nil {
		return fmt.Errorf("write cluster state: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write cluster state: %w", err)
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write cluster state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write cluster state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write cluster state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write cluster state: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// newSuperuserPassword returns 32 random bytes in hex.
func newSuperuserPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate superuser password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// freeLoopbackPort asks the kernel for an unused 127.0.0.1 port. Another process may take it
// before PostgreSQL binds it; Start retries on that.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// loopbackPortFree reports whether port can be bound on 127.0.0.1 right now.
func loopbackPortFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
