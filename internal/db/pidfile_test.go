package db

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writePostmasterPID writes a pid file as PostgreSQL would, owned like the data directory so
// that the server could read it.
func writePostmasterPID(t *testing.T, dataDir string, pid int) {
	t.Helper()
	path := filepath.Join(dataDir, "postmaster.pid")
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, "%d\n%s\n", pid, dataDir), 0o600))
	info, err := os.Stat(dataDir)
	require.NoError(t, err)
	st := info.Sys().(*syscall.Stat_t)
	require.NoError(t, os.Chown(path, int(st.Uid), int(st.Gid)))
}

func TestManagedStartsOverAPidFileNamingAnotherLiveProcess(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	m := startTestManaged(t, ManagedConfig{Dir: dir})
	require.NoError(t, m.Stop(t.Context()))

	// A live process that is not postgres, as when a reboot reused the PID. PostgreSQL alone
	// refuses to start ("lock file already exists") over a PID it may signal that is neither
	// itself nor one of its parents, so the process runs as the server's account.
	acct, err := accountForServer()
	require.NoError(t, err)
	other := exec.Command("sleep", "300")
	other.SysProcAttr = &syscall.SysProcAttr{Credential: acct.credential()}
	require.NoError(t, other.Start())
	t.Cleanup(func() {
		_ = other.Process.Kill()
		_ = other.Wait()
	})
	writePostmasterPID(t, filepath.Join(dir, "data"), other.Process.Pid)

	require.NoError(t, m.Start(t.Context()))
	require.Equal(t, "1", queryText(t, m.DSN(), "SELECT 1::text"))
	require.True(t, processAlive(other.Process.Pid), "the unrelated process is left alone")
}

func TestManagedStopsALeftoverServerOfItsDataDir(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	first := startTestManaged(t, ManagedConfig{Dir: dir})
	require.NoError(t, first.Stop(t.Context()))

	// A postmaster on this data directory that nobody here owns, as when Pdeathsig was lost.
	acct, err := accountForServer()
	require.NoError(t, err)
	port, err := freeLoopbackPort()
	require.NoError(t, err)
	args, _ := serverArgs(first.paths, port, nil)
	cmd := exec.Command(installedBinaries(t).postgres(), args...)
	cmd.Dir = first.paths.root
	leftover, err := startChild(cmd, acct)
	require.NoError(t, err)
	t.Cleanup(func() { _ = leftover.stop(context.Background(), time.Second, first.logger) })
	require.Eventually(t, func() bool {
		return pingServer(t.Context(), superuserDSN(readTestClusterState(t, dir).Password, port)) == nil
	}, 30*time.Second, 50*time.Millisecond, "the leftover server comes up")

	second := startTestManaged(t, ManagedConfig{Dir: dir})
	select {
	case <-leftover.done:
	default:
		t.Fatal("the leftover server is still running after Start")
	}
	require.Equal(t, "1", queryText(t, second.DSN(), "SELECT 1::text"))
	require.NotEqual(t, leftover.pid(), second.server.pid())
}

// parentDeathDirEnv switches TestManagedStopsWithItsParent into the role of the parent that
// gets killed: it runs in a child process started by the same test.
const parentDeathDirEnv = "GOFORWARD_TEST_DOOMED_PARENT_DIR"

func TestManagedStopsWithItsParent(t *testing.T) {
	if dir := os.Getenv(parentDeathDirEnv); dir != "" {
		runDoomedParent(t, dir)
		return
	}
	t.Parallel()
	dir := clusterDir(t)

	parent := exec.Command(os.Args[0], "-test.run=^TestManagedStopsWithItsParent$", "-test.count=1")
	parent.Env = append(os.Environ(), parentDeathDirEnv+"="+dir)
	parent.Stderr = t.Output()
	stdout, err := parent.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, parent.Start())
	t.Cleanup(func() {
		_ = parent.Process.Kill()
		_ = parent.Wait()
	})
	ready := false
	for lines := bufio.NewScanner(stdout); lines.Scan(); {
		if strings.TrimSpace(lines.Text()) == "doomed parent ready" {
			ready = true
			break
		}
	}
	require.True(t, ready, "the child process started its cluster")

	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	serverPID, exists, err := readPostmasterPID(pidFile)
	require.NoError(t, err)
	require.True(t, exists)
	require.True(t, processAlive(serverPID))
	t.Cleanup(func() {
		if processAlive(serverPID) { // only when the test has already failed
			_ = syscall.Kill(serverPID, syscall.SIGQUIT)
		}
	})

	require.NoError(t, parent.Process.Kill())
	_ = parent.Wait()
	require.Eventually(t, func() bool { return !processAlive(serverPID) }, 30*time.Second, 50*time.Millisecond,
		"postgres shuts down when its parent is killed")
	require.NoFileExists(t, pidFile, "it was a clean fast shutdown")

	m := startTestManaged(t, ManagedConfig{Dir: dir})
	require.Equal(t, "1", queryText(t, m.DSN(), "SELECT 1::text"))
}

// runDoomedParent starts a cluster and waits to be killed with SIGKILL, which gives it no
// chance to stop the server itself.
func runDoomedParent(t *testing.T, dir string) {
	m, err := NewManaged(ManagedConfig{Dir: dir, NoSync: true})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	fmt.Println("doomed parent ready")
	<-m.Exited()
	t.Fatal("the server exited while its parent was alive")
}
