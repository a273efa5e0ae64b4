package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is one `goforward serve` process.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	stdout  *lockedBuffer
	stderr  *lockedBuffer
	done    chan struct{}
	waitErr error
	port    int
	dataDir string
}

// cleanEnv is the test process's environment without any Go Forward configuration, so a
// developer's own settings cannot leak into the binary under test.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GOFORWARD_") || name == "DATABASE_URL" || name == "REDIS_URL" || name == "JWT_SECRET" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// tempDataDir returns a fresh directory whose ancestors the postgres user can traverse, as
// they must be when the tests run as root (t.TempDir's parents are 0700).
func tempDataDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for dir := base; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		require.NoError(t, os.Chmod(dir, 0o755))
	}
	return filepath.Join(base, "data")
}

// portsHandedOut keeps freePort from giving two parallel tests of this binary the same port:
// the kernel may hand a port it just freed to the next caller, and a test would then poll
// another test's server.
var portsHandedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

func freePort(t *testing.T) int {
	t.Helper()
	portsHandedOut.Lock()
	defer portsHandedOut.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
		if !portsHandedOut.ports[port] {
			portsHandedOut.ports[port] = true
			return port
		}
	}
}

// startServer runs `goforward serve` on dataDir and a free port with extra environment.
func startServer(t *testing.T, dataDir string, env []string, args ...string) *server {
	t.Helper()
	return startProgram(t, binary, dataDir, env, args...)
}

// startProgram runs the serve command of program (goforward, or a program embedding it).
func startProgram(t *testing.T, program, dataDir string, env []string, args ...string) *server {
	t.Helper()
	port := freePort(t)
	s := &server{t: t, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{}), port: port, dataDir: dataDir}
	full := append([]string{"serve", "--data-dir", dataDir, "--port", strconv.Itoa(port)}, args...)
	s.cmd = exec.Command(program, full...)
	s.cmd.Env = cleanEnv(env...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	require.NoError(t, s.cmd.Start())
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("goforward stdout:\n%s\ngoforward stderr:\n%s", s.stdout, s.stderr)
		}
	})
	return s
}

func (s *server) url() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *server) signal(sig syscall.Signal) {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(sig)
	}
}

// waitReady polls /ready until it answers 200, failing early if the process exits.
func (s *server) waitReady(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.t.Fatalf("goforward exited before it was ready (%v)\nstdout:\n%s\nstderr:\n%s", s.waitErr, s.stdout, s.stderr)
		default:
		}
		// Only once this process has bound its port is the port's /ready its own: another
		// program (a PostgreSQL, another test's server) may have taken a free port first.
		if !strings.Contains(s.stderr.String(), `"msg":"gateway listening","addr":"127.0.0.1:`+strconv.Itoa(s.port)+`"`) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		resp, err := http.Get(s.url() + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("goforward not ready after %s\nstdout:\n%s\nstderr:\n%s", timeout, s.stdout, s.stderr)
}

// stop sends SIGTERM and waits for the process to exit, returning its exit code.
func (s *server) stop() int {
	s.t.Helper()
	s.signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.t.Fatal("goforward did not stop within 60s of SIGTERM")
	}
	return s.cmd.ProcessState.ExitCode()
}

// run executes a goforward command to completion and returns stdout, stderr and exit code.
func run(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = cleanEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		require.True(t, ok, "run %v: %v", args, err)
		code = exitErr.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// statusJSON runs `goforward status --json` and decodes it.
func statusJSON(t *testing.T, dataDir string) map[string]any {
	t.Helper()
	out, errOut, code := run(t, nil, "status", "--data-dir", dataDir, "--json")
	require.Equal(t, 0, code, "status failed: %s", errOut)
	var report map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &report), out)
	return report
}
