// Package harness starts the real goforward binary for benchmarks: built from this checkout,
// serving on loopback with its own managed PostgreSQL in a throwaway data directory, with the
// limits that would throttle a load generator turned off. It also opens a direct pgx pool to
// the same database, the baseline every benchmark compares against.
package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/db"
)

// Stack is a running goforward and pools to its database (superuser and authenticator).
type Stack struct {
	URL            string
	AnonKey        string
	ServiceRoleKey string
	JWTSecret      string
	DBURL          string
	Direct         *pgxpool.Pool // superuser pool for seeding and for the pgx baseline
	// Request is a pool of the same size logged in as the authenticator role, as goforward's
	// request pool is: a baseline that runs requests through RoleRunner should use it, so
	// that PostgreSQL checks the same role switch for both.
	Request *pgxpool.Pool

	cmd     *exec.Cmd
	tmp     string
	dataDir string
	stderr  *bytes.Buffer
}

// Options tune Start.
type Options struct {
	Env      []string // extra environment for goforward, e.g. auth limits
	PoolSize int32    // size of the Direct and Request pools; default 32
	// Binary is a goforward binary to run instead of building one from this checkout, so
	// that two builds can be compared in one run. Empty: build.
	Binary string
}

// Start builds and starts goforward. Close it when done.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	tmp, err := os.MkdirTemp("", "goforward-bench-")
	if err != nil {
		return nil, err
	}
	s := &Stack{tmp: tmp, stderr: &bytes.Buffer{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// The managed cluster runs as the postgres user when this runs as root: it must be able
	// to traverse the data directory's parents.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	binary := opts.Binary
	if binary == "" {
		binary = filepath.Join(tmp, "goforward")
		build := exec.CommandContext(ctx, "go", "build", "-o", binary, "github.com/goforward/goforward/cmd/goforward")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build goforward: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(tmp, "data")
	s.dataDir = dataDir
	// Chosen here so that the benchmark can log in as authenticator too.
	authenticatorPassword := rand.Text()
	s.cmd = exec.Command(binary, "serve", "--data-dir", dataDir, "--port", strconv.Itoa(port))
	s.cmd.Env = append(cleanEnv(),
		"GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND=0",
		"GOFORWARD_LOG_LEVEL=warn",
		"GOFORWARD_DATABASE_AUTHENTICATOR_PASSWORD="+authenticatorPassword,
	)
	s.cmd.Env = append(s.cmd.Env, opts.Env...)
	s.cmd.Stdout = &bytes.Buffer{}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitReady(ctx, s.URL+"/ready", 60*time.Second); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, s.stderr)
	}
	out, err := exec.CommandContext(ctx, binary, "status", "--data-dir", dataDir, "--json").Output()
	if err != nil {
		return nil, fmt.Errorf("goforward status: %w", err)
	}
	var status struct {
		AnonKey        string `json:"anon_key"`
		ServiceRoleKey string `json:"service_role_key"`
		JWTSecret      string `json:"jwt_secret"`
		DBURL          string `json:"db_url"`
		APIURL         string `json:"api_url"`
		PID            int    `json:"pid"`
	}
	if err := json.Unmarshal(out, &status); err != nil {
		return nil, err
	}
	// /ready answered on the chosen port, but another program may have taken that port
	// first: only this process's own report proves the benchmark talks to it.
	if status.PID != s.cmd.Process.Pid || status.APIURL != s.URL {
		return nil, fmt.Errorf("another server answered on %s (status reports pid %d at %s, started pid %d)",
			s.URL, status.PID, status.APIURL, s.cmd.Process.Pid)
	}
	s.AnonKey, s.ServiceRoleKey, s.JWTSecret, s.DBURL = status.AnonKey, status.ServiceRoleKey, status.JWTSecret, status.DBURL
	// goforward's own pools go through the managed cluster's unix socket (see
	// db.Managed.LocalDSN), so the baselines' pools do too: over loopback TCP they would pay
	// for a network stack that the service skips.
	poolURL := s.DBURL
	if socketDir := filepath.Join(dataDir, "postgres", "run"); dirExists(socketDir) {
		if poolURL, err = throughSocket(s.DBURL, socketDir); err != nil {
			return nil, err
		}
	}
	if s.Direct, err = openPool(ctx, poolURL, opts.PoolSize); err != nil {
		return nil, err
	}
	requestURL, err := db.WithCredentials(poolURL, "authenticator", authenticatorPassword)
	if err != nil {
		return nil, err
	}
	if s.Request, err = openPool(ctx, requestURL, opts.PoolSize); err != nil {
		return nil, fmt.Errorf("connect as authenticator: %w", err)
	}
	return s, nil
}

// throughSocket rewrites a postgres://host:port URL to reach the same server through its
// unix socket in dir, keeping the port (it names the socket file).
func throughSocket(raw, dir string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("database url: %w", err)
	}
	q := u.Query()
	q.Set("host", dir)
	q.Set("port", u.Port())
	u.Host, u.RawQuery = "", q.Encode()
	return u.String(), nil
}

func dirExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// openPool connects a pool of size connections (32 when size is 0) and checks it works.
func openPool(ctx context.Context, url string, size int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = size
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 32
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Close stops goforward (and with it PostgreSQL) and removes the data directory.
func (s *Stack) Close() {
	if s.Direct != nil {
		s.Direct.Close()
	}
	if s.Request != nil {
		s.Request.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.tmp)
}

func waitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("goforward did not become ready")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// cleanEnv drops Go Forward settings of the calling shell so the benchmark runs on defaults.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GOFORWARD_") || name == "DATABASE_URL" || name == "REDIS_URL" || name == "JWT_SECRET" {
			continue
		}
		env = append(env, kv)
	}
	return env
}
