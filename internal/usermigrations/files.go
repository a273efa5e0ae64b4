package usermigrations

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// File is one migration of the project directory: its up file and, when there is one, its
// down file.
type File struct {
	Version string
	Name    string
	// UpPath and DownPath are the files' paths ("" when there is no down file).
	UpPath   string
	DownPath string
	Up       string
	Down     string
	// Checksum is the hex SHA-256 of the up file.
	Checksum string
}

// Reversible reports whether the migration can be rolled back: it has a down file with at
// least one statement.
func (f File) Reversible() bool { return f.DownPath != "" && len(Split(f.Down)) > 0 }

// ID is how messages name a migration: VERSION_NAME.
func (f File) ID() string { return f.Version + "_" + f.Name }

var (
	// upFile, downFile: golang-migrate's and this project's two-file convention.
	upFile   = regexp.MustCompile(`^([0-9]+)_(.+)\.up\.sql$`)
	downFile = regexp.MustCompile(`^([0-9]+)_(.+)\.down\.sql$`)
	// singleFile is Supabase CLI's <timestamp>_name.sql, an up-only migration.
	singleFile = regexp.MustCompile(`^([0-9]+)_(.+)\.sql$`)
	// validName is what `migrate new` and the API accept as a migration's name.
	validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)
)

// checksum is the hex SHA-256 of a file's contents.
func checksum(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// ReadDir reads the migrations of dir, ordered by version. A directory that does not exist
// holds no migrations. A .sql file whose name fits none of the conventions is skipped and
// listed in skipped, as Supabase's CLI skips it; two files of one version, or a down file
// without its up file, are an error naming them.
func ReadDir(dir string) (files []File, skipped []string, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read the migrations directory: %w", err)
	}
	byVersion := map[string]*File{}
	downs := map[string][2]string{} // version -> name, file name
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".sql") {
			continue
		}
		var version, name string
		down := false
		if m := upFile.FindStringSubmatch(n); m != nil {
			version, name = m[1], m[2]
		} else if m := downFile.FindStringSubmatch(n); m != nil {
			version, name, down = m[1], m[2], true
		} else if m := singleFile.FindStringSubmatch(n); m != nil {
			version, name = m[1], m[2]
		} else {
			skipped = append(skipped, n)
			continue
		}
		if down {
			if other, dup := downs[version]; dup {
				return nil, nil, fmt.Errorf("migration files %s and %s are both down files of version %s", other[1], n, version)
			}
			downs[version] = [2]string{name, n}
			continue
		}
		if other, dup := byVersion[version]; dup {
			return nil, nil, fmt.Errorf("migration files %s and %s share version %s: give one of them a new version", filepath.Base(other.UpPath), n, version)
		}
		body, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, nil, fmt.Errorf("read migration %s: %w", n, err)
		}
		byVersion[version] = &File{Version: version, Name: name, UpPath: filepath.Join(dir, n), Up: string(body), Checksum: checksum(string(body))}
	}
	for version, d := range downs {
		f, ok := byVersion[version]
		if !ok {
			return nil, nil, fmt.Errorf("migration file %s has no up file (%s_%s.up.sql)", d[1], version, d[0])
		}
		if d[0] != f.Name {
			return nil, nil, fmt.Errorf("migration files %s and %s have version %s but different names", filepath.Base(f.UpPath), d[1], version)
		}
		body, err := os.ReadFile(filepath.Join(dir, d[1]))
		if err != nil {
			return nil, nil, fmt.Errorf("read migration %s: %w", d[1], err)
		}
		f.DownPath, f.Down = filepath.Join(dir, d[1]), string(body)
	}
	for _, f := range byVersion {
		files = append(files, *f)
	}
	slices.SortFunc(files, func(a, b File) int { return compareVersions(a.Version, b.Version) })
	return files, skipped, nil
}

// compareVersions orders versions numerically (so 9 comes before 10), then by their text
// (so 010 and 10, the same number, still have an order).
func compareVersions(a, b string) int {
	ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(ta) != len(tb) {
		return len(ta) - len(tb)
	}
	if c := strings.Compare(ta, tb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// NormalizeName turns what a user typed as a migration's name into its file name part:
// lower case, spaces and dashes as underscores. It refuses anything else that would not
// make a plain file name.
func NormalizeName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer(" ", "_", "-", "_").Replace(n)
	if len(n) > 100 || !validName.MatchString(n) {
		return "", fmt.Errorf("%w: a migration's name is letters, digits and underscores (at most 100), starting with a letter or digit (got %q)", ErrInvalid, name)
	}
	return n, nil
}

// nextVersion is the version of a new migration: the current time (UTC) as Supabase's CLI
// writes it, 20250114093000, or one more than the newest version known when that is not
// newer, so a new migration always sorts last.
func nextVersion(now time.Time, known []string) string {
	v := now.UTC().Format("20060102150405")
	for _, k := range known {
		if compareVersions(v, k) <= 0 {
			v = increment(strings.TrimLeft(k, "0"))
		}
	}
	return v
}

// increment adds one to a decimal number written as text.
func increment(n string) string {
	b := []byte(n)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

// writeFiles creates the up (and, when down is not nil, the down) file of a new migration,
// never replacing a file. It returns the paths written.
func writeFiles(dir, version, name, up string, down *string) (File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return File{}, fmt.Errorf("create the migrations directory: %w", err)
	}
	f := File{Version: version, Name: name, Up: up, Checksum: checksum(up),
		UpPath: filepath.Join(dir, version+"_"+name+".up.sql")}
	if err := writeNew(f.UpPath, up); err != nil {
		return File{}, err
	}
	if down != nil {
		f.DownPath, f.Down = filepath.Join(dir, version+"_"+name+".down.sql"), *down
		if err := writeNew(f.DownPath, *down); err != nil {
			_ = os.Remove(f.UpPath)
			return File{}, err
		}
	}
	return f, nil
}

func writeNew(path, body string) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write migration: %w", err)
	}
	if _, err := fh.WriteString(body); err != nil {
		fh.Close()
		_ = os.Remove(path)
		return fmt.Errorf("write migration: %w", err)
	}
	if err := fh.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write migration: %w", err)
	}
	return nil
}

// removeFiles undoes writeFiles after the database refused the migration.
func removeFiles(f File) {
	_ = os.Remove(f.UpPath)
	if f.DownPath != "" {
		_ = os.Remove(f.DownPath)
	}
}

// transactionControl names the statement if it ends or opens a transaction: a migration
// already runs in its own, which such a statement would break.
func transactionControl(st Statement) string {
	words := strings.Fields(strings.ToUpper(st.SQL))
	if len(words) == 0 {
		return ""
	}
	switch words[0] {
	case "BEGIN", "COMMIT", "END", "ABORT", "START":
		return words[0]
	case "ROLLBACK":
		if len(words) > 1 && (words[1] == "TO" || words[1] == "PREPARED") {
			return ""
		}
		return words[0]
	case "PREPARE":
		if len(words) > 1 && words[1] == "TRANSACTION" {
			return "PREPARE TRANSACTION"
		}
	}
	return ""
}

// statements splits a migration's SQL for running. A BEGIN first and a COMMIT last, which
// files written for a client without transactions of its own carry, are dropped: the
// migration's transaction stands for them. Any other transaction control is refused.
func statements(sql, path string) ([]Statement, error) {
	stmts := Split(sql)
	if len(stmts) > 0 && isOneOf(transactionControl(stmts[0]), "BEGIN", "START") {
		stmts = stmts[1:]
		if n := len(stmts); n > 0 && isOneOf(transactionControl(stmts[n-1]), "COMMIT", "END") {
			stmts = stmts[:n-1]
		}
	}
	for _, st := range stmts {
		if tc := transactionControl(st); tc != "" {
			return nil, fmt.Errorf("%w: %s, statement %d (line %d): %s is not allowed in a migration: each migration already runs in a transaction of its own",
				ErrInvalid, path, st.Index, st.Line, tc)
		}
	}
	return stmts, nil
}

func isOneOf(s string, options ...string) bool { return s != "" && slices.Contains(options, s) }
