package db

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// orphanGrace is how long a postmaster left over from a crashed run gets for a fast shutdown.
const orphanGrace = 15 * time.Second

// clearStaleServer makes data/postmaster.pid safe to start over.
//
// A postmaster of this data directory that outlived its parent (Pdeathsig can be lost, for
// example when the parent ran under a debugger or a different supervisor) is shut down. A pid
// file naming some other live process (PIDs get reused after a reboot) is removed, because
// PostgreSQL would refuse to start while that PID exists. A pid file naming a dead process is
// removed too; PostgreSQL would cope, but there is no reason to make it.
func (m *Managed) clearStaleServer(ctx context.Context, dataDir string) error {
	pidPath := filepath.Join(dataDir, "postmaster.pid")
	pid, exists, err := readPostmasterPID(pidPath)
	if err != nil || !exists {
		return err
	}
	if pid > 0 && processAlive(pid) && isPostmasterOf(pid, dataDir) {
		m.logger.Warn("stopping a postgres left running by an earlier run", "pid", pid, "data_dir", dataDir)
		signal := func(sig os.Signal) error { return syscall.Kill(pid, sig.(syscall.Signal)) }
		gone := func(ctx context.Context, d time.Duration) bool { return waitProcessGone(ctx, pid, d) }
		if err := shutDown(ctx, orphanGrace, m.logger, signal, gone); err != nil {
			return fmt.Errorf("stop leftover postgres (pid %d): %w", pid, err)
		}
		// A clean shutdown removes the pid file itself; after SIGKILL it is stale.
	} else {
		m.logger.Info("removing stale postmaster.pid", "pid", pid, "data_dir", dataDir)
	}
	if err := os.Remove(pidPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", pidPath, err)
	}
	return nil
}

// readPostmasterPID returns the PID on the first line of a postmaster.pid. A file that exists
// but names no PID (PostgreSQL died while writing it) gives 0: it cannot belong to a live
// server, and PostgreSQL would refuse to start over its "bogus data".
func readPostmasterPID(path string) (pid int, exists bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	pid, err = strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, true, nil
	}
	return pid, true, nil
}

// processAlive reports whether pid names a running process. A zombie counts as gone: an
// orphaned postmaster that exited stays one until PID 1 reaps it, and in containers PID 1 often
// never does.
func processAlive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may itself contain ")".
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	state := s[i+2]
	return state != 'Z' && state != 'X'
}

// isPostmasterOf reports whether pid is a postgres server running on dataDir. The postmaster
// changes into its data directory at start and keeps its executable, so both are checked
// rather than the command line, whose -D may be relative or rewritten. A process we may not
// inspect is not ours: we run postgres as ourselves, or as root can inspect anything.
func isPostmasterOf(pid int, dataDir string) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	// A binary replaced by a package upgrade reads as "/usr/lib/.../postgres (deleted)".
	exe = strings.TrimSuffix(exe, " (deleted)")
	if base := filepath.Base(exe); base != "postgres" && base != "postmaster" {
		return false
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return false
	}
	want, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		return false
	}
	return cwd == want
}

// waitProcessGone polls until pid has exited, d has passed or ctx has ended.
func waitProcessGone(ctx context.Context, pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if !processAlive(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return !processAlive(pid)
		}
	}
}
