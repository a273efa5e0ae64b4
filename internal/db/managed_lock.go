package db

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrClusterInUse matches the error of Start when another process holds the cluster: runs it,
// or is still starting it. Callers that can use that process's server instead (the CLI while
// `goforward serve` runs) tell the two apart with errors.Is.
var ErrClusterInUse = errors.New("managed postgres: the cluster is in use by another process")

// ClusterInUseError is Start's error when another process holds the cluster's lock.
type ClusterInUseError struct {
	Dir string // the cluster directory
	PID int    // the holder, as it recorded itself; 0 when unknown
}

func (e *ClusterInUseError) Error() string {
	return fmt.Sprintf("the cluster in %s is in use by another process (pid %d): stop it first, "+
		"or give this one its own data directory", e.Dir, e.PID)
}

// Is makes errors.Is(err, ErrClusterInUse) true.
func (e *ClusterInUseError) Is(target error) bool { return target == ErrClusterInUse }

// lockCluster takes an exclusive lock on the cluster directory for as long as the returned file
// stays open. It is what lets Start treat a live postmaster of this data directory as an orphan
// to stop: with the lock held, no other running process owns the cluster. The kernel drops the
// lock when its holder dies, however it dies, so a crash never leaves the cluster locked; and
// the file is close-on-exec, so the server does not inherit it.
func lockCluster(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock cluster: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(holder)))
			return nil, &ClusterInUseError{Dir: filepath.Dir(path), PID: pid}
		}
		return nil, fmt.Errorf("lock cluster: %w", err)
	}
	// Only for the message above; the lock, not this content, is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
