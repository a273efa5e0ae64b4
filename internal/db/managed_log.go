package db

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// serverLogRotateSize is the size above which postgres.log is moved to postgres.log.1 at
// start, so a long-lived cluster keeps at most about twice this on disk.
const serverLogRotateSize = 10 << 20

// openServerLog rotates the log if it is too big and opens it for the server to append to.
// offset is where this run's output begins, so errors quote this run and not an older one.
func openServerLog(path string) (f *os.File, offset int64, err error) {
	if info, err := os.Stat(path); err == nil && info.Size() > serverLogRotateSize {
		if err := os.Rename(path, path+".1"); err != nil {
			return nil, 0, fmt.Errorf("rotate %s: %w", path, err)
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("open server log: %w", err)
	}
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("open server log: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open server log: %w", err)
	}
	return f, info.Size(), nil
}

// serverLogSince returns what the server wrote to path from offset on, at most the last
// maxBytes of it.
func serverLogSince(path string, offset int64, maxBytes int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	from := offset
	if from > info.Size() || from < info.Size()-maxBytes {
		from = max(0, info.Size()-maxBytes)
	}
	raw, err := io.ReadAll(io.NewSectionReader(f, from, info.Size()-from))
	if err != nil {
		return ""
	}
	return string(raw)
}

// lastLines keeps the final n lines of text.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// isBindFailure reports whether the server's output says its port was taken.
func isBindFailure(serverOutput string) bool {
	return strings.Contains(serverOutput, "could not bind") ||
		strings.Contains(serverOutput, "Address already in use")
}
