package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// child is initdb or postgres running under this process.
type child struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // cmd.Wait's result; read it only after done is closed
	// stopRequested tells an exit we caused from one that happened to us.
	stopRequested atomic.Bool
}

// startChild starts cmd as the server account so that it dies with us.
//
// Pdeathsig belongs to the OS thread that forked the child, not to the process: when that
// thread exits the kernel signals the child even though we are still running, and Go retires
// threads freely. So the fork happens on a goroutine locked to its thread, and that goroutine
// stays blocked in Wait for the child's whole life.
func startChild(cmd *exec.Cmd, acct serverAccount) (*child, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: acct.credential(),
		// A process group of its own: a Ctrl-C in the terminal reaches us and not the server,
		// which we stop ourselves after whatever still uses it.
		Setpgid: true,
		// SIGINT is a fast shutdown, so a kill -9 of this process still leaves a clean cluster.
		Pdeathsig: syscall.SIGINT,
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread is discarded with this goroutine, after the child is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child is gone, waiting up to d or until ctx ends.
func (c *child) exited(ctx context.Context, d time.Duration) bool {
	select {
	case <-c.done:
		return true
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// stop shuts the child down, escalating as PostgreSQL documents (see shutDown).
func (c *child) stop(ctx context.Context, grace time.Duration, logger *slog.Logger) error {
	c.stopRequested.Store(true)
	return shutDown(ctx, grace, logger, c.cmd.Process.Signal, c.exited)
}

// shutDown walks PostgreSQL's shutdown modes: fast (SIGINT: sessions are rolled back and a
// checkpoint written), then immediate (SIGQUIT: like a crash, recovered on the next start),
// then SIGKILL. grace bounds the fast shutdown; ctx ending skips ahead to the next mode, but
// SIGKILL is always waited for so the caller never returns with the server still running.
func shutDown(ctx context.Context, grace time.Duration, logger *slog.Logger,
	signal func(os.Signal) error, exited func(context.Context, time.Duration) bool) error {
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{
		{syscall.SIGINT, grace},
		{syscall.SIGQUIT, 5 * time.Second},
		{syscall.SIGKILL, 5 * time.Second},
	}
	for i, s := range steps {
		if i > 0 {
			logger.Warn("postgres did not stop in time, escalating", "signal", s.sig.String())
		}
		if err := signal(s.sig); err != nil {
			if errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) {
				return nil
			}
			return fmt.Errorf("signal postgres (%s): %w", s.sig, err)
		}
		waitCtx := ctx
		if s.sig == syscall.SIGKILL {
			waitCtx = context.WithoutCancel(ctx)
		}
		if exited(waitCtx, s.wait) {
			return nil
		}
	}
	return errors.New("postgres is still running after SIGKILL")
}
