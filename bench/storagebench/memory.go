package storagebench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memoryUse is a process's resident set size now and at its peak, in bytes.
type memoryUse struct {
	RSS  int64 // VmRSS
	Peak int64 // VmHWM: the peak since start or since the last resetPeak
}

// readMemory reads pid's VmRSS and VmHWM from /proc/<pid>/status.
func readMemory(pid int) (memoryUse, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return memoryUse{}, err
	}
	rss, err := statusField(string(raw), "VmRSS")
	if err != nil {
		return memoryUse{}, err
	}
	peak, err := statusField(string(raw), "VmHWM")
	if err != nil {
		return memoryUse{}, err
	}
	return memoryUse{RSS: rss * 1024, Peak: peak * 1024}, nil
}

// resetPeak makes VmHWM start again from the current RSS (writing 5 to clear_refs, Linux 4.0
// and later; it needs the right to write to the process), so each cell reports its own peak.
func resetPeak(pid int) error {
	return os.WriteFile(filepath.Join("/proc", strconv.Itoa(pid), "clear_refs"), []byte("5"), 0)
}

// statusField is the number after "field:" in the text of /proc/<pid>/status; sizes there
// are in kB (KiB), which the caller scales.
func statusField(status, field string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		parts := strings.Fields(value)
		if len(parts) == 0 {
			return 0, fmt.Errorf("%s: no value", field)
		}
		return strconv.ParseInt(parts[0], 10, 64)
	}
	return 0, errors.New(field + ": not in /proc status")
}
