package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SuperviseConfig says how hard Supervise tries to keep the managed server running.
type SuperviseConfig struct {
	// MaxFailures is how many unexpected exits and failed restarts within Window make
	// Supervise give up. 0 means 5.
	MaxFailures int
	// Window is the period over which failures are counted. 0 means 5 minutes.
	Window time.Duration
	// Backoff is the pause before the first restart after a failure; it doubles with each
	// further failure inside Window, up to 30 s. 0 means 250 ms: crash recovery of a small
	// cluster takes well under a second, so the first restart should not wait long.
	Backoff time.Duration
}

const (
	defaultMaxFailures = 5
	defaultWindow      = 5 * time.Minute
	defaultBackoff     = 250 * time.Millisecond
	maxBackoff         = 30 * time.Second
	// orphanWait bounds how long the backends of a dead postmaster get to notice its death
	// and exit (they do so on their own at their next wait) before they are killed.
	orphanWait = 5 * time.Second
)

func (c SuperviseConfig) withDefaults() SuperviseConfig {
	if c.MaxFailures <= 0 {
		c.MaxFailures = defaultMaxFailures
	}
	if c.Window <= 0 {
		c.Window = defaultWindow
	}
	if c.Backoff <= 0 {
		c.Backoff = defaultBackoff
	}
	return c
}

// ErrGaveUp is wrapped by Supervise's error when the server kept failing.
var ErrGaveUp = errors.New("managed PostgreSQL keeps failing")

// Available reports whether the server is up as far as this process knows: it was started and
// has not exited since. Between an unexpected exit and the end of the restart it is false,
// which /ready and the request path use to answer 503 at once instead of trying to connect.
func (m *Managed) Available() bool { return m.running() }

// Supervise restarts the server whenever it exits without Stop asking it to, after a pause
// that grows while failures repeat; PostgreSQL's own crash recovery runs at that start, and
// the pools, whose connections died with the server, open new ones at their next use
// (the server comes back on the same port and socket). It returns nil when ctx ends, and an
// error wrapping ErrGaveUp, naming postgres.log, once MaxFailures exits or failed restarts
// happened within Window. Call it after a successful Start.
func (m *Managed) Supervise(ctx context.Context, cfg SuperviseConfig) error {
	cfg = cfg.withDefaults()
	var failures []time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.Exited():
		}
		if ctx.Err() != nil || m.stopRequested() {
			return nil
		}
		m.reapOrphans(ctx)

		now := time.Now()
		failures = append(failures, now)
		for len(failures) > 0 && now.Sub(failures[0]) > cfg.Window {
			failures = failures[1:]
		}
		if len(failures) >= cfg.MaxFailures {
			return fmt.Errorf("%w: it stopped %d times within %s; giving up, see %s",
				ErrGaveUp, len(failures), cfg.Window, m.paths.log)
		}
		pause := min(cfg.Backoff<<(len(failures)-1), maxBackoff)
		m.logger.Warn("PostgreSQL is down; restarting it", "in", pause.String(),
			"failures", len(failures), "max_failures", cfg.MaxFailures, "log", m.paths.log)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		if err := m.restart(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			m.logger.Error("restarting PostgreSQL failed", "error", err, "log", m.paths.log)
			continue // Exited is still the dead server's closed channel: counts as a failure
		}
		m.logger.Info("PostgreSQL restarted after a failure", "failures", len(failures))
	}
}

// stopRequested reports whether the last server's exit was asked for by Stop.
func (m *Managed) stopRequested() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.server == nil || m.server.stopRequested.Load()
}

// reapOrphans makes sure no process of the dead server remains before a new one starts on
// the same data directory: backends whose postmaster was killed notice at their next wait and
// exit, but one busy in a long statement would keep running, and must not overlap with a new
// server. They share the postmaster's process group (startChild sets one up), so they are
// asked to quit as the postmaster itself would after a crash (SIGQUIT), then killed.
func (m *Managed) reapOrphans(ctx context.Context) {
	m.mu.Lock()
	server := m.server
	m.mu.Unlock()
	if server == nil {
		return
	}
	pgid := server.pid()
	if !groupAlive(pgid) {
		return
	}
	_ = syscall.Kill(-pgid, syscall.SIGQUIT)
	deadline := time.Now().Add(orphanWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if !groupAlive(pgid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.logger.Warn("processes of the dead PostgreSQL server did not exit; killing them", "pgid", pgid)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for i := 0; i < 100 && groupAlive(pgid); i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

// groupAlive reports whether a process of group pgid is still running. Zombies do not count:
// orphans are reaped by PID 1, which in containers often never does it, and a zombie holds
// nothing a new server needs (kill(-pgid, 0) would count them).
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// After the command name in parentheses: state, ppid, pgrp.
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 3 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(fields[2]); err == nil && g == pgid && pid > 0 {
			return true
		}
	}
	return false
}

// restart starts the server again on the port it had, so that connection strings handed out
// (the pools', status's) stay valid.
func (m *Managed) restart(ctx context.Context) error {
	return m.start(ctx, true)
}
