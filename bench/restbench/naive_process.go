package restbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/goforward/goforward/bench/harness"
)

// naiveProcess is a running bench/cmd/naiveserver.
type naiveProcess struct {
	cmd *exec.Cmd
	dir string
	url string
}

// startNaive builds bench/cmd/naiveserver and starts it serving spec.
func startNaive(ctx context.Context, spec NaiveSpec) (_ *naiveProcess, err error) {
	dir, err := os.MkdirTemp("", "goforward-naive-")
	if err != nil {
		return nil, err
	}
	p := &naiveProcess{dir: dir}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	binary := filepath.Join(dir, "naiveserver")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, "github.com/goforward/goforward/bench/cmd/naiveserver")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build the naive server: %w", err)
	}
	input, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(binary)
	p.cmd.Stdin = strings.NewReader(string(input))
	p.cmd.Stderr = os.Stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	select {
	case p.url = <-lines:
	case <-time.After(30 * time.Second):
		return nil, errors.New("the naive server did not start")
	}
	if !strings.HasPrefix(p.url, "http://127.0.0.1:") {
		return nil, fmt.Errorf("the naive server did not start (it said %q)", p.url)
	}
	return p, nil
}

// cpu is the processor time the naive server has used.
func (p *naiveProcess) cpu() (time.Duration, error) {
	return harness.ProcessCPU(p.cmd.Process.Pid)
}

// close stops the server and removes its binary.
func (p *naiveProcess) close() {
	if p.cmd != nil && p.cmd.Process != nil {
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
	_ = os.RemoveAll(p.dir)
}
