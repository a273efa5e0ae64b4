package restbench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goforward/goforward/bench/load"
)

// wrkThreads is the number of threads wrk runs. Measured on this 2-core box at 32 connections
// with a request() script cycling through prepared requests (wrk -d3s, three rounds each):
// one thread cost wrk 19–22 µs of processor time per call against 24–25 µs for two, at
// ~5k req/s, and 16–21 µs against 22–25 µs with nothing limiting the rate. One thread drives
// well over 30k req/s, far above what any variant here reaches, so the second one only adds
// wake-ups.
const wrkThreads = 1

// wrkTimeout is wrk's --timeout: a response slower than this counts as an error. It is well
// above the anon role's statement timeout, so the database gives up first.
const wrkTimeout = 10 * time.Second

// wrkNotFound is what restbench says when it cannot run the wrk variants.
const wrkNotFound = "wrk not found: apt-get install wrk; wrk variants skipped"

// wrkRunner runs wrk with scripts it generates into a directory of its own.
type wrkRunner struct {
	path string // the wrk binary
	dir  string
}

// newWrkRunner prepares to run the wrk binary at path.
func newWrkRunner(path string) (*wrkRunner, error) {
	dir, err := os.MkdirTemp("", "goforward-wrk-")
	if err != nil {
		return nil, err
	}
	return &wrkRunner{path: path, dir: dir}, nil
}

// close removes the generated scripts.
func (r *wrkRunner) close() { _ = os.RemoveAll(r.dir) }

// writeScript writes wrkScript(calls, probe) as name and returns its path.
func (r *wrkRunner) writeScript(name string, calls []wrkCall, probe bool) (string, error) {
	path := filepath.Join(r.dir, name+".lua")
	if err := os.WriteFile(path, []byte(wrkScript(calls, probe)), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// wrkSeconds is d as wrk's -d and --timeout take it: whole seconds, rounded up, at least one.
func wrkSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))) + "s"
}

// runOnce runs wrk once and returns its standard output and the processor time it used (user
// and system, every thread, from its rusage once it has exited). The run is bounded by
// duration plus a margin for wrk to connect and report.
func (r *wrkRunner) runOnce(ctx context.Context, script, url string, connections int, duration time.Duration, latency bool) (string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, duration+wrkTimeout+30*time.Second)
	defer cancel()
	args := []string{"-t", strconv.Itoa(min(wrkThreads, connections)), "-c", strconv.Itoa(connections),
		"-d", wrkSeconds(duration), "--timeout", wrkSeconds(wrkTimeout), "-s", script}
	if latency {
		args = append(args, "--latency")
	}
	cmd := exec.CommandContext(ctx, r.path, append(args, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return "", cpu, fmt.Errorf("wrk %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()+stdout.String()))
	}
	return stdout.String(), cpu, nil
}

// measure runs script against url the way load.Run runs an operation under lc: an unmeasured
// warm-up run of lc.Warmup, then the measured one of lc.Duration, both with lc.Concurrency
// connections (wrk's -d takes whole seconds, so a fraction is rounded up). It returns the
// measured run's result, with AllCalls counting the warm-up's calls too, and the processor
// time wrk used over both.
func (r *wrkRunner) measure(ctx context.Context, script, url string, lc load.Config) (load.Result, time.Duration, error) {
	var (
		warmupCalls int64
		cpu         time.Duration
	)
	if lc.Warmup > 0 {
		out, used, err := r.runOnce(ctx, script, url, lc.Concurrency, lc.Warmup, true)
		cpu += used
		if err != nil {
			return load.Result{}, cpu, err
		}
		warm, err := parseWrkOutput(out)
		if err != nil {
			return load.Result{}, cpu, err
		}
		warmupCalls = warm.result().AllCalls
	}
	out, used, err := r.runOnce(ctx, script, url, lc.Concurrency, lc.Duration, true)
	cpu += used
	if err != nil {
		return load.Result{}, cpu, err
	}
	o, err := parseWrkOutput(out)
	if err != nil {
		return load.Result{}, cpu, err
	}
	res := o.result()
	res.AllCalls += warmupCalls
	return res, cpu, nil
}

// probe sends the first call of a probe script (see wrkScript) through wrk to url and checks
// that it answered with status, so that headers wrk does not send as the Go client does show
// up before a whole table of errors is measured.
func (r *wrkRunner) probe(ctx context.Context, script, url string, status int) error {
	// wrk runs for the whole -d even once the script has stopped its thread.
	out, _, err := r.runOnce(ctx, script, url, 1, 2*time.Second, false)
	if err != nil {
		return err
	}
	for line := range strings.SplitSeq(out, "\n") {
		rest, ok := strings.CutPrefix(line, wrkProbeMarker+" ")
		if !ok {
			continue
		}
		code, body, _ := strings.Cut(rest, " ")
		if code != strconv.Itoa(status) {
			return fmt.Errorf("through wrk: status %s, want %d: %s", code, status, body)
		}
		return nil
	}
	return fmt.Errorf("through wrk: no response: %.500q", out)
}
