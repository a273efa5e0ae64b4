package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// waitForFile returns the trimmed content of path once the command under test has written it.
func waitForFile(t *testing.T, path string) string {
	t.Helper()
	var content string
	require.Eventually(t, func() bool {
		raw, err := os.ReadFile(path)
		content = strings.TrimSpace(string(raw))
		return err == nil && content != ""
	}, time.Minute, 20*time.Millisecond)
	return content
}

func TestRunGivesTheCommandAServerAndStopsItAfterwards(t *testing.T) {
	t.Parallel()
	urlFile := filepath.Join(t.TempDir(), "url")
	stdin, release := io.Pipe()
	var stderr bytes.Buffer
	exitCode := make(chan int, 1)
	go func() {
		// The command reports its URL, then waits for a line on stdin and exits with 3.
		script := `echo "$GOFORWARD_TEST_DATABASE_URL" > "$0"; read line; exit 3`
		exitCode <- run([]string{"--", "sh", "-c", script, urlFile}, stdin, io.Discard, &stderr, make(chan os.Signal))
	}()

	databaseURL := waitForFile(t, urlFile)
	conn, err := pgx.Connect(t.Context(), databaseURL)
	require.NoError(t, err, "the command's server is up while it runs")
	var one int
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT 1").Scan(&one))
	require.NoError(t, conn.Close(t.Context()))

	_, err = release.Write([]byte("done\n"))
	require.NoError(t, err)
	require.NoError(t, release.Close())
	require.Equal(t, 3, <-exitCode, "the command's exit status is passed on")

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = pgx.Connect(ctx, databaseURL)
	require.Error(t, err, "the server is stopped afterwards")

	cfg, err := pgx.ParseConfig(databaseURL)
	require.NoError(t, err)
	require.Contains(t, stderr.String(), "withpg: PostgreSQL started in")
	require.NotContains(t, stderr.String(), cfg.Password, "the password is not printed")
}

func TestRunForwardsSignalsToTheCommand(t *testing.T) {
	t.Parallel()
	readyFile := filepath.Join(t.TempDir(), "ready")
	signals := make(chan os.Signal, 1)
	exitCode := make(chan int, 1)
	go func() {
		script := `trap "exit 7" INT; echo ready > "$0"; while :; do sleep 0.1; done`
		exitCode <- run([]string{"sh", "-c", script, readyFile}, nil, io.Discard, io.Discard, signals)
	}()
	waitForFile(t, readyFile)
	signals <- syscall.SIGINT
	require.Equal(t, 7, <-exitCode)
}

func TestRunWithoutACommandPrintsUsage(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	require.Equal(t, 2, run([]string{"--"}, nil, io.Discard, &stderr, make(chan os.Signal)))
	require.Contains(t, stderr.String(), "usage: withpg -- command")
}

// A signal that arrives once the server runs but before the command exists used to be
// dropped, leaving the command running (and CI hanging): it must reach the command as soon
// as the command starts.
func TestSignalBeforeTheCommandStartsReachesIt(t *testing.T) {
	t.Parallel()
	cancelled := false
	target := &signalTarget{cancelStart: func() { cancelled = true }}
	target.serverStarted()
	target.deliver(syscall.SIGINT)
	require.False(t, cancelled, "the server runs: nothing to abandon")

	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	target.commandStarted(cmd.Process)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		require.ErrorAs(t, err, &exitErr)
		status, ok := exitErr.Sys().(syscall.WaitStatus)
		require.True(t, ok)
		require.True(t, status.Signaled())
		require.Equal(t, syscall.SIGINT, status.Signal())
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the signal sent before the command started never reached it")
	}
}

func TestSignalBeforeTheServerRunsAbandonsTheStart(t *testing.T) {
	t.Parallel()
	cancelled := false
	target := &signalTarget{cancelStart: func() { cancelled = true }}
	target.deliver(syscall.SIGTERM)
	require.True(t, cancelled)
}
