// Command withpg runs a command beside one throwaway PostgreSQL cluster, so that every test
// binary of a `go test ./...` shares a single server instead of starting its own:
//
//	go run ./internal/pgtest/withpg -- go test -race ./...
//
// It starts a managed cluster in a fresh temporary directory, runs the command with
// GOFORWARD_TEST_DATABASE_URL set to the cluster's superuser URL, forwards SIGINT and SIGTERM
// to it, then stops the cluster, removes the directory and exits with the command's status.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, signals)
	signal.Stop(signals)
	os.Exit(code)
}

// run is the whole command; signals delivers what main would otherwise die of.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: withpg -- command [args...]")
		return 2
	}

	// Until the server runs, a signal abandons the start; afterwards it goes to the command,
	// or waits for the command to exist (a signal must not be lost in between).
	startCtx, cancelStart := context.WithCancel(context.Background())
	defer cancelStart()
	target := &signalTarget{cancelStart: cancelStart}
	relayDone := make(chan struct{})
	defer close(relayDone)
	go func() {
		for {
			select {
			case sig := <-signals:
				target.deliver(sig)
			case <-relayDone:
				return
			}
		}
	}()

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	began := time.Now()
	cluster, err := pgtest.StartCluster(startCtx, logger)
	if err != nil {
		fmt.Fprintln(stderr, "withpg:", err)
		return 1
	}
	fmt.Fprintf(stderr, "withpg: PostgreSQL started in %s at %s\n",
		time.Since(began).Round(time.Millisecond), db.RedactURL(cluster.URL()))
	target.serverStarted()

	code := runCommand(args, cluster.URL(), stdin, stdout, stderr, target)

	if err := cluster.Close(context.Background()); err != nil {
		fmt.Fprintln(stderr, "withpg: stop PostgreSQL:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// runCommand runs the command to completion and returns the exit status a shell would show.
func runCommand(args []string, databaseURL string, stdin io.Reader, stdout, stderr io.Writer, target *signalTarget) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), pgtest.EnvDatabaseURL+"="+databaseURL)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "withpg:", err)
		return 127
	}
	target.commandStarted(cmd.Process)
	err := cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			return 128 + int(status.Signal())
		}
		return exitErr.ExitCode()
	default:
		fmt.Fprintln(stderr, "withpg:", err)
		return 1
	}
}

// signalTarget decides where a signal goes: before the server runs it abandons the start;
// after, it goes to the command, and one that arrives before the command exists is delivered
// as soon as it does.
type signalTarget struct {
	cancelStart func()

	mu      sync.Mutex
	started bool // the server runs
	command *os.Process
	pending []os.Signal
}

func (t *signalTarget) deliver(sig os.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.command != nil:
		_ = t.command.Signal(sig)
	case t.started:
		t.pending = append(t.pending, sig)
	default:
		t.cancelStart()
	}
}

func (t *signalTarget) serverStarted() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.started = true
}

func (t *signalTarget) commandStarted(p *os.Process) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.command = p
	for _, sig := range t.pending {
		_ = p.Signal(sig)
	}
	t.pending = nil
}
