package db

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// readyPollInterval is how often Start tries to connect while the server comes up
	// (0.2–0.45 s on a small machine), so readiness is noticed within one interval.
	readyPollInterval = 50 * time.Millisecond
	// serverOutputWindow is how much of this run's postgres.log an error may look at.
	serverOutputWindow = 64 << 10
)

// launchOnFreePort starts the server on the configured port or, when none is configured, on
// the remembered one while it is free, else on a fresh one. When another program takes the
// port before the server binds it, it tries a fresh port, up to portAttempts in all. The port
// that worked is saved in cluster.json. keepPort uses the remembered port, taken or not.
func (m *Managed) launchOnFreePort(ctx context.Context, st clusterState, bins serverBinaries, acct serverAccount, keepPort bool) (*child, int, error) {
	port := m.cfg.Port
	if keepPort && port == 0 {
		port = st.Port
	}
	if port == 0 {
		port = st.Port
		if port == 0 || !m.portFree(port) {
			var err error
			if port, err = freeLoopbackPort(); err != nil {
				return nil, 0, err
			}
		}
	}
	for attempt := 1; ; attempt++ {
		dsn := superuserDSN(st.Password, port)
		server, output, err := m.launch(ctx, bins, acct, port, dsn)
		if err == nil {
			if port != st.Port {
				st.Port = port
				if err := saveClusterState(m.paths.state, st); err != nil {
					return nil, 0, errors.Join(err, server.stop(context.WithoutCancel(ctx), stopGrace, m.logger))
				}
			}
			return server, port, nil
		}
		if m.cfg.Port != 0 || keepPort || attempt == portAttempts || !isBindFailure(output) {
			return nil, 0, err
		}
		m.logger.Info("PostgreSQL port taken, trying another", "port", port)
		if port, err = freeLoopbackPort(); err != nil {
			return nil, 0, err
		}
	}
}

// launch starts postgres on port and waits until it answers on dsn. On failure the server is
// gone when launch returns, and output holds what it wrote so the caller can recognise a
// port that was taken.
func (m *Managed) launch(ctx context.Context, bins serverBinaries, acct serverAccount, port int, dsn string) (*child, string, error) {
	logFile, offset, err := openServerLog(m.paths.log)
	if err != nil {
		return nil, "", err
	}
	// The server writes through its own inherited descriptor.
	defer logFile.Close()

	args, socketDisabled := serverArgs(m.paths, port, m.cfg.Settings)
	if socketDisabled {
		m.logger.Info("cluster path too long for a unix socket, listening on TCP only",
			"socket_dir", m.paths.run, "limit_bytes", maxSocketPath)
	}
	cmd := exec.Command(bins.postgres(), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = m.paths.root // see initCluster: the server account must be able to enter it
	server, err := startChild(cmd, acct)
	if err != nil {
		return nil, "", err
	}

	if err := m.waitReady(ctx, server, dsn); err != nil {
		if stopErr := server.stop(context.WithoutCancel(ctx), 5*time.Second, m.logger); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		output := serverLogSince(m.paths.log, offset, serverOutputWindow)
		return nil, output, fmt.Errorf("%w; last lines of %s:\n%s", err, m.paths.log, lastLines(output, 20))
	}
	go m.reportUnexpectedExit(server)
	return server, "", nil
}

// reportUnexpectedExit logs a server that dies without Stop asking it to; Exited tells the
// owner, the log tells the operator where to look.
func (m *Managed) reportUnexpectedExit(server *child) {
	<-server.done
	if !server.stopRequested.Load() {
		m.logger.Error("PostgreSQL exited on its own", "error", server.waitErr, "log", m.paths.log)
	}
}

// socketFits reports whether the server's unix socket in dir fits the kernel's path limit.
func socketFits(dir string, port int) bool {
	return len(filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))) <= maxSocketPath
}

// serverArgs builds the postgres command line. socketDisabled is true when the unix socket
// path would be too long for the kernel, in which case the server listens on TCP only.
func serverArgs(p clusterPaths, port int, settings map[string]string) (args []string, socketDisabled bool) {
	socketDir := p.run
	if !socketFits(p.run, port) {
		socketDir = ""
		socketDisabled = true
	}
	args = []string{
		"-D", p.data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + socketDir,
		// Realtime reads changes through logical replication.
		"-c", "wal_level=logical",
		"-c", "max_wal_senders=10",
		"-c", "max_replication_slots=10",
		// Output goes to our stderr pipe, which is postgres.log.
		"-c", "logging_collector=off",
	}
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "-c", name+"="+settings[name])
	}
	return args, socketDisabled
}

// waitReady polls until SELECT 1 works, the server exits, StartTimeout passes or ctx ends.
func (m *Managed) waitReady(ctx context.Context, server *child, dsn string) error {
	waitCtx, cancel := context.WithTimeout(ctx, m.cfg.StartTimeout)
	defer cancel()
	// A connection attempt can hang until its timeout when some other program holds the port
	// and accepts without answering; the server's exit must cut it short.
	waited := make(chan struct{})
	defer close(waited)
	go func() {
		select {
		case <-server.done:
			cancel()
		case <-waited:
		}
	}()
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	for {
		lastErr := pingServer(waitCtx, dsn)
		if lastErr == nil {
			return nil
		}
		select {
		case <-server.done:
			return fmt.Errorf("postgres exited while starting (%v)", server.waitErr)
		default:
		}
		if ctx.Err() != nil {
			return fmt.Errorf("start postgres: %w", ctx.Err())
		}
		if waitCtx.Err() != nil {
			return fmt.Errorf("postgres did not accept connections within %s (last attempt: %v)", m.cfg.StartTimeout, lastErr)
		}
		select {
		case <-tick.C:
		case <-waitCtx.Done():
		}
	}
}

// pingServer opens one connection and runs SELECT 1: the server is ready when a client
// can do real work, not merely when its port is open.
func pingServer(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = 2 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "SELECT 1")
	return err
}
