package restbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/load"
)

// handProcess is a running hand-written server (ServeHand) in a process of its own, as
// goforward is, so that neither shares a Go runtime with anything else.
type handProcess struct {
	cmd *exec.Cmd
	url string
}

// startHandProcess runs `executable serve-hand databaseURL poolSize` and waits for the URL it
// prints.
func startHandProcess(ctx context.Context, executable, databaseURL string, poolSize int32) (_ *handProcess, err error) {
	p := &handProcess{cmd: exec.Command(executable, "serve-hand", databaseURL, strconv.Itoa(int(poolSize)))}
	p.cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(runtime.GOMAXPROCS(0)))
	p.cmd.Stderr = os.Stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	select {
	case p.url = <-lines:
	case <-time.After(30 * time.Second):
		return nil, errors.New("the hand-written server did not start")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if !strings.HasPrefix(p.url, "http://127.0.0.1:") {
		return nil, fmt.Errorf("the hand-written server did not start (it said %q)", p.url)
	}
	return p, nil
}

func (p *handProcess) cpu() (time.Duration, error) { return harness.ProcessCPU(p.cmd.Process.Pid) }

func (p *handProcess) close() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// lookWrk finds wrk on PATH.
func lookWrk() (string, error) {
	path, err := exec.LookPath("wrk")
	if err != nil {
		return "", errors.New(wrkNotFound)
	}
	return path, nil
}

// perfRecord runs `perf record -a -g` (the whole machine: goforward and PostgreSQL; pid is
// the one to look at) while wrk runs script against url for lc.Duration.
func perfRecord(ctx context.Context, runner *wrkRunner, script, url string, pid int, out string, lc load.Config) error {
	perf := exec.CommandContext(ctx, "perf", "record", "-a", "-g", "-o", out)
	_ = pid
	perf.Stderr = os.Stderr
	if err := perf.Start(); err != nil {
		return fmt.Errorf("perf: %w", err)
	}
	_, _, err := runner.runOnce(ctx, script, url, lc.Concurrency, lc.Duration, true)
	_ = perf.Process.Signal(syscall.SIGINT)
	// perf may report the SIGINT that ends it as its exit status; the profile is written
	// either way.
	if werr := perf.Wait(); err == nil && werr != nil {
		if _, statErr := os.Stat(out); statErr != nil {
			err = fmt.Errorf("perf: %w", werr)
		}
	}
	return err
}
