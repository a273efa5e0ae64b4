package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPUTimes is processor time (user + system) consumed so far. On a shared machine throughput
// moves with the neighbours' load, but the processor time one request costs moves much less:
// differences of CPUTimes divided by the requests served between them say where each
// request's work is done.
type CPUTimes struct {
	Goforward time.Duration // the goforward process
	Postgres  time.Duration // every process of its PostgreSQL cluster (postmaster and backends)
	Self      time.Duration // the calling process: the load generator
}

// Sub is t - u.
func (t CPUTimes) Sub(u CPUTimes) CPUTimes {
	return CPUTimes{Goforward: t.Goforward - u.Goforward, Postgres: t.Postgres - u.Postgres, Self: t.Self - u.Self}
}

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// CPU reads the processor time of goforward, of its PostgreSQL processes and of the caller
// from /proc (Linux only). A process that has exited is counted through its parent, which
// accumulates the time of the children it has reaped (autovacuum workers, closed backends).
func (s *Stack) CPU() (CPUTimes, error) {
	if s.cmd == nil || s.cmd.Process == nil {
		return CPUTimes{}, errors.New("goforward is not running")
	}
	root := s.cmd.Process.Pid
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return CPUTimes{}, err
	}
	parent := map[int]int{}
	stats := map[int]procTimes{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := procStat(pid)
		if err != nil {
			continue // the process exited while we looked
		}
		parent[pid], stats[pid] = st.ppid, st
	}
	var t CPUTimes
	for pid, st := range stats {
		switch {
		case pid == root:
			// goforward's reaped children are PostgreSQL programs (initdb, an old server).
			t.Goforward += st.own
			t.Postgres += st.reaped
		case descendsFrom(pid, root, parent):
			t.Postgres += st.own + st.reaped
		}
	}
	self, err := procStat(os.Getpid())
	if err != nil {
		return CPUTimes{}, err
	}
	t.Self = self.own
	return t, nil
}

func descendsFrom(pid, root int, parent map[int]int) bool {
	for range 64 { // process trees here are a few levels deep; the bound guards against loops
		p, ok := parent[pid]
		if !ok || p <= 1 {
			return false
		}
		if p == root {
			return true
		}
		pid = p
	}
	return false
}

// procTimes are the figures CPU needs from /proc/<pid>/stat.
type procTimes struct {
	ppid   int
	own    time.Duration // user + system time of the process itself
	reaped time.Duration // user + system time of its children that it has waited for
}

// procStat reads a process's parent and processor times from /proc/<pid>/stat.
func procStat(pid int) (procTimes, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procTimes{}, err
	}
	// The command name is in parentheses and may hold spaces; the fields follow the last ')'.
	end := strings.LastIndexByte(string(raw), ')')
	if end < 0 {
		return procTimes{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(string(raw[end+1:]))
	if len(fields) < 15 {
		return procTimes{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// fields[0] is the state, field 3 of proc(5): ppid is field 4, utime, stime, cutime and
	// cstime are fields 14 to 17.
	var n [5]int64
	for i, f := range []int{1, 11, 12, 13, 14} {
		if n[i], err = strconv.ParseInt(fields[f], 10, 64); err != nil {
			return procTimes{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
	}
	return procTimes{
		ppid:   int(n[0]),
		own:    time.Duration(n[1]+n[2]) * clockTick,
		reaped: time.Duration(n[3]+n[4]) * clockTick,
	}, nil
}

// ProcessCPU is the processor time (user + system) process pid has used, its reaped
// children included (Linux only).
func ProcessCPU(pid int) (time.Duration, error) {
	st, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return st.own + st.reaped, nil
}
