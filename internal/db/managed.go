package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ManagedConfig describes a private PostgreSQL cluster that Go Forward creates and runs itself.
type ManagedConfig struct {
	// Dir is the cluster's root directory, created if missing (0711 when running as root, so
	// the postgres user can pass through, else 0700). It holds cluster.json (port, superuser
	// password, major version; 0600), cluster.lock (held while a process runs the cluster),
	// data/ (PGDATA), run/ (the unix socket) and postgres.log (rotated once past 10 MB).
	// Required.
	Dir string
	// BinDir is the directory holding initdb and postgres. Empty means discover them:
	// pg_config --bindir, then PATH, then /usr/lib/postgresql/*/bin and /usr/pgsql-*/bin,
	// newest major first. PostgreSQL 15 or newer is required.
	BinDir string
	// Port is the 127.0.0.1 port to listen on. 0 means choose a free one when the cluster is
	// created, remember it in cluster.json and reuse it while it is free, else pick another.
	Port int
	// NoSync runs initdb with --no-sync: faster, and fine for clusters a crash may lose (tests).
	NoSync bool
	// Settings are extra server settings passed as -c name=value after the built-in ones, so
	// they may override them (tests raise max_connections, say). nil means none.
	Settings map[string]string
	// Logger receives lifecycle events; nil means slog.Default(). The server's own output
	// goes to postgres.log, never here.
	Logger *slog.Logger
	// StartTimeout bounds how long Start waits for the server to accept connections after
	// launching it (initdb is not included). 0 means 30s.
	StartTimeout time.Duration
}

const (
	defaultStartTimeout = 30 * time.Second
	// stopGrace bounds a fast shutdown before Stop escalates to an immediate one.
	stopGrace = 30 * time.Second
	// portAttempts is how many ports Start tries when the chosen one turns out to be taken.
	portAttempts = 3
	// maxSocketPath is the longest unix socket path Linux accepts (sun_path minus its NUL);
	// PostgreSQL exits at start when its socket path is longer.
	maxSocketPath = 107
	// superuser is the role initdb creates and DSN connects as.
	superuser = "postgres"
)

// Managed runs a private PostgreSQL cluster as a child process: created with initdb on first
// start, bound to 127.0.0.1 only, stopped with its parent even when the parent is killed
// (Linux's parent-death signal). When the process runs as root, initdb and postgres run as
// the postgres system user. One process at a time may run a given Dir.
// A Managed is safe for concurrent use; Start and Stop are serialised.
type Managed struct {
	cfg    ManagedConfig
	paths  clusterPaths
	logger *slog.Logger
	search binarySearch
	// portFree decides whether the remembered port can be reused. Tests replace it to make
	// Start race another process for the port.
	portFree func(port int) bool

	lifecycle sync.Mutex // held for the whole of Start and Stop
	lock      *os.File   // the cluster.lock held from Start to Stop; guarded by lifecycle

	mu        sync.Mutex // guards the fields below, which DSN, LocalDSN and Exited read
	server    *child
	dsn       string
	socketDSN string // "" when the server has no unix socket
	exited    <-chan struct{}
}

// NewManaged checks cfg and returns a stopped cluster handle; nothing touches the disk until
// Start.
func NewManaged(cfg ManagedConfig) (*Managed, error) {
	if cfg.Dir == "" {
		return nil, errors.New("managed postgres: Dir is required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("managed postgres: %w", err)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("managed postgres: port %d out of range", cfg.Port)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = defaultStartTimeout
	}
	neverStarted := make(chan struct{})
	close(neverStarted)
	return &Managed{
		cfg:      cfg,
		paths:    newClusterPaths(dir),
		logger:   cfg.Logger,
		search:   defaultBinarySearch(cfg.BinDir),
		portFree: loopbackPortFree,
		exited:   neverStarted,
	}, nil
}

// DSN is the superuser connection URL, postgres://postgres:<password>@127.0.0.1:<port>/postgres
// ?sslmode=disable. It is empty until Start has succeeded once. It holds a password: do not log it.
func (m *Managed) DSN() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dsn
}

// LocalDSN is DSN through the server's unix socket, for connections from this machine: every
// round trip through a unix socket skips the TCP stack that loopback still runs (pgbench's
// point select did ~30 % more per second here). It is DSN when the cluster's path is too long
// for a socket.
func (m *Managed) LocalDSN() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.socketDSN != "" {
		return m.socketDSN
	}
	return m.dsn
}

// Exited is closed when the server started by the latest Start ends, on its own or after
// Stop. Before the first Start it is already closed.
func (m *Managed) Exited() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.exited
}

// Start creates the cluster if needed, starts the server and returns once it accepts
// connections. When no PostgreSQL binaries are installed the error wraps ErrBinariesNotFound.
func (m *Managed) Start(ctx context.Context) error {
	return m.start(ctx, false)
}

// start is Start; keepPort insists on the port in cluster.json (a restart, whose connection
// strings are already out) instead of moving to a free one when it is taken.
func (m *Managed) start(ctx context.Context, keepPort bool) (err error) {
	m.lifecycle.Lock()
	defer m.lifecycle.Unlock()
	if m.running() {
		return errors.New("managed postgres: already running")
	}
	m.releaseLock() // left by a server that exited on its own
	began := time.Now()
	p := m.paths

	acct, err := accountForServer()
	if err != nil {
		return err
	}
	dirMode := os.FileMode(0o700)
	if acct.dropRoot {
		dirMode = 0o711 // the postgres user must pass through to data/ and run/
	}
	if err := os.MkdirAll(p.root, dirMode); err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	if m.lock, err = lockCluster(p.lock); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			m.releaseLock()
		}
	}()
	if err := acct.checkReachable(p.root); err != nil {
		return err
	}

	st, bins, err := m.prepareCluster(ctx, acct)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.run, 0o700); err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	if err := acct.chown(p.run); err != nil {
		return err
	}
	if err := m.clearStaleServer(ctx, p.data); err != nil {
		return err
	}

	server, port, err := m.launchOnFreePort(ctx, st, bins, acct, keepPort)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.server, m.dsn, m.exited = server, superuserDSN(st.Password, port), server.done
	m.socketDSN = ""
	if socketFits(p.run, port) {
		m.socketDSN = superuserSocketDSN(st.Password, p.run, port)
	}
	m.mu.Unlock()
	m.logger.Info("PostgreSQL ready", "dir", p.root, "port", port, "pid", server.pid(),
		"duration_ms", time.Since(began).Milliseconds())
	return nil
}

// prepareCluster loads cluster.json and finds matching binaries, creating the cluster (and
// its password) when there is none yet.
func (m *Managed) prepareCluster(ctx context.Context, acct serverAccount) (clusterState, serverBinaries, error) {
	p := m.paths
	st, haveState, err := loadClusterState(p.state)
	if err != nil {
		return clusterState{}, serverBinaries{}, err
	}
	major, err := clusterMajor(p.data)
	if err != nil {
		return clusterState{}, serverBinaries{}, err
	}
	if major != 0 && !haveState {
		return clusterState{}, serverBinaries{}, fmt.Errorf("cluster %s exists but %s, which holds its password, is missing: "+
			"restore it, or move the cluster away to start a new one", p.data, p.state)
	}
	bins, err := m.search.find(ctx, major)
	if err != nil {
		return clusterState{}, serverBinaries{}, err
	}
	if !haveState {
		if st.Password, err = newSuperuserPassword(); err != nil {
			return clusterState{}, serverBinaries{}, err
		}
	}
	if major == 0 {
		// Saved before initdb, so a retry after a crash uses the same password.
		st.MajorVersion = bins.major
		if err := saveClusterState(p.state, st); err != nil {
			return clusterState{}, serverBinaries{}, err
		}
		if err := m.initCluster(ctx, p, bins, acct, st.Password); err != nil {
			return clusterState{}, serverBinaries{}, err
		}
	} else if err := acct.chownTree(p.data); err != nil {
		return clusterState{}, serverBinaries{}, err
	}
	if st.MajorVersion != bins.major {
		st.MajorVersion = bins.major
		if err := saveClusterState(p.state, st); err != nil {
			return clusterState{}, serverBinaries{}, err
		}
	}
	return st, bins, nil
}

// running reports whether a server started by this Managed is still up.
func (m *Managed) running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.server == nil {
		return false
	}
	select {
	case <-m.server.done:
		return false
	default:
		return true
	}
}

// Stop shuts the server down (fast shutdown, escalating after 30s or when ctx ends) and waits
// for it to exit. Stopping a stopped cluster does nothing.
func (m *Managed) Stop(ctx context.Context) error {
	m.lifecycle.Lock()
	defer m.lifecycle.Unlock()
	m.mu.Lock()
	server := m.server
	m.mu.Unlock()
	if server == nil {
		return nil
	}
	began := time.Now()
	if err := server.stop(ctx, stopGrace, m.logger); err != nil {
		return err
	}
	m.mu.Lock()
	m.server = nil
	m.mu.Unlock()
	m.releaseLock()
	m.logger.Info("PostgreSQL stopped", "dir", m.paths.root, "duration_ms", time.Since(began).Milliseconds())
	return nil
}

// releaseLock lets another process take the cluster. The caller holds lifecycle.
func (m *Managed) releaseLock() {
	if m.lock != nil {
		// Unlock before closing: a process forked by this one (any exec.Command, in any
		// goroutine) holds a copy of the descriptor until it execs, and while a copy lives,
		// closing ours would not release the lock; the next Start would find the cluster
		// "in use". LOCK_UN releases it whoever else holds the descriptor.
		_ = syscall.Flock(int(m.lock.Fd()), syscall.LOCK_UN)
		m.lock.Close()
		m.lock = nil
	}
}

// superuserSocketDSN is superuserDSN through the unix socket in dir.
func superuserSocketDSN(password, dir string, port int) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, password),
		Path:     "/postgres",
		RawQuery: url.Values{"host": {dir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}.Encode(),
	}
	return u.String()
}

func superuserDSN(password string, port int) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, password),
		Host:     "127.0.0.1:" + strconv.Itoa(port),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
	return u.String()
}
