package harness

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PID is the goforward process's id (not its PostgreSQL children's).
func (s *Stack) PID() int { return s.cmd.Process.Pid }

// DataDir is goforward's data directory, inside the stack's throwaway directory.
func (s *Stack) DataDir() string { return s.dataDir }

// RSS is the resident memory of the goforward process itself (VmRSS of /proc/PID/status, in
// bytes), without its PostgreSQL children: what realtime connections cost the server.
func (s *Stack) RSS() (int64, error) {
	return ProcessRSS(s.PID())
}

// ProcessRSS reads VmRSS of pid from /proc, in bytes.
func ProcessRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmRSS %q: %w", rest, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
