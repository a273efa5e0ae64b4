package restbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// CapturedSQL is what PostgreSQL's own log says the service executed for one request of a
// workload, next to what the in-process builder produced for it.
type CapturedSQL struct {
	Workload string
	// Logged are the statements the service's connection ran for the request, in order: the
	// role and claims settings, then the request's statement. Empty when it was not found.
	Logged []string
	// Built are the statements the benchmark's baseline sends after the settings.
	Built []string
	// Match is true when the logged statements end with exactly the built ones.
	Match bool
}

// logPrefix marks the log lines written while capturing, with the backend pid and user.
const logPrefix = "@@bench %p %u@@ "

// loggedStatement is one statement a backend executed, as logged.
type loggedStatement struct {
	pid  string
	user string
	sql  string
}

// captureSQL turns on log_statement=all for the whole server, calls send (which makes one
// request per workload through the service), turns it off again and reads back from the
// server's log what the service executed for each workload. built maps each workload to the
// statements the in-process builder produced for the request send makes.
func captureSQL(ctx context.Context, pool *pgxpool.Pool, workloads []string, built map[string][]string, send func(context.Context) error) ([]CapturedSQL, error) {
	var dataDir string
	if err := pool.QueryRow(ctx, "SELECT current_setting('data_directory')").Scan(&dataDir); err != nil {
		return nil, err
	}
	// The managed cluster writes the server's output to postgres.log next to its data
	// directory (internal/db's cluster layout).
	logPath := filepath.Join(filepath.Dir(dataDir), "postgres.log")
	info, err := os.Stat(logPath)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	offset := info.Size()

	setLogging := func(on bool) error {
		stmts := []string{"ALTER SYSTEM RESET log_statement", "ALTER SYSTEM RESET log_line_prefix"}
		if on {
			stmts = []string{"ALTER SYSTEM SET log_statement = 'all'", "ALTER SYSTEM SET log_line_prefix = '" + logPrefix + "'"}
		}
		for _, s := range append(stmts, "SELECT pg_reload_conf()") {
			if _, err := pool.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		// Backends reread the configuration between commands once the postmaster has
		// forwarded the reload; give it a moment.
		time.Sleep(500 * time.Millisecond)
		return nil
	}
	if err := setLogging(true); err != nil {
		return nil, err
	}
	sendErr := send(ctx)
	if err := setLogging(false); err != nil {
		return nil, err
	}
	if sendErr != nil {
		return nil, sendErr
	}

	var out []CapturedSQL
	deadline := time.Now().Add(5 * time.Second)
	for {
		logged, err := readLoggedStatements(logPath, offset)
		if err != nil {
			return nil, err
		}
		out = out[:0]
		all := true
		for _, w := range workloads {
			c := matchLogged(logged, w, built[w])
			all = all && c.Match
			out = append(out, c)
		}
		if all || time.Now().After(deadline) {
			return out, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// matchLogged finds built in the log: the statements of one backend, consecutive, preceded
// by that backend's previous statement (the settings).
func matchLogged(logged []loggedStatement, workload string, built []string) CapturedSQL {
	c := CapturedSQL{Workload: workload, Built: built}
	if len(built) == 0 {
		return c
	}
	for i, s := range logged {
		if s.sql != built[0] {
			continue
		}
		var run []string
		for j := i - 1; j >= 0; j-- { // the settings statement sent just before, same backend
			if logged[j].pid == s.pid {
				run = append(run, logged[j].sql)
				break
			}
		}
		for j := i; j < len(logged) && len(run) < len(built)+1; j++ {
			if logged[j].pid == s.pid {
				run = append(run, logged[j].sql)
			}
		}
		c.Logged = run
		c.Match = len(run) == len(built)+1 && slices.Equal(run[1:], built) &&
			strings.Contains(run[0], "set_config('role'")
		return c
	}
	return c
}

// readLoggedStatements parses the statements logged with logPrefix after offset.
func readLoggedStatements(path string, offset int64) ([]loggedStatement, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	var (
		out     []loggedStatement
		current *loggedStatement
		message strings.Builder
	)
	flush := func() {
		if current != nil {
			if sql, ok := executedSQL(message.String()); ok {
				current.sql = sql
				out = append(out, *current)
			}
		}
		current = nil
		message.Reset()
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "@@bench "); ok {
			flush()
			head, msg, _ := strings.Cut(rest, "@@ ")
			pid, user, _ := strings.Cut(head, " ")
			current = &loggedStatement{pid: pid, user: user}
			message.WriteString(msg)
			continue
		}
		if startsWithTimestamp(line) { // a line in the default format: logging is off again
			flush()
			continue
		}
		if current != nil {
			// The server's stderr log indents every continuation line of a message with a tab.
			message.WriteString("\n")
			message.WriteString(strings.TrimPrefix(line, "\t"))
		}
	}
	flush()
	return out, nil
}

// executedSQL takes the statement out of a log_statement message ("LOG:  statement: ..." for
// the simple protocol, "LOG:  execute <name>: ..." for the extended one). A statement the
// service prepared with SQL's PREPARE is logged as "PREPARE <name> AS <statement>" twice:
// when it is prepared, which executes nothing and is left out, and under its own name each
// time it runs, which is the statement.
func executedSQL(message string) (string, bool) {
	if sql, ok := strings.CutPrefix(message, "LOG:  statement: "); ok {
		return sql, !strings.HasPrefix(sql, "PREPARE ")
	}
	rest, ok := strings.CutPrefix(message, "LOG:  execute ")
	if !ok {
		return "", false
	}
	name, sql, found := strings.Cut(rest, ": ")
	if prepared, ok := strings.CutPrefix(sql, "PREPARE "); ok {
		as, statement, _ := strings.Cut(prepared, " AS ")
		return statement, found && as == name
	}
	return sql, found
}

// startsWithTimestamp reports whether line begins like "2006-01-02 15:04:05", the default
// log_line_prefix.
func startsWithTimestamp(line string) bool {
	const layout = "dddd-dd-dd dd:dd:dd"
	if len(line) < len(layout) {
		return false
	}
	for i := range len(layout) {
		c := line[i]
		if layout[i] == 'd' && (c < '0' || c > '9') || layout[i] != 'd' && c != layout[i] {
			return false
		}
	}
	return true
}
