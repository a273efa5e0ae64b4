package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrBinariesNotFound is wrapped by the error Start returns when no usable PostgreSQL server
// binaries exist on the machine, so the CLI can tell "install PostgreSQL" apart from other
// failures. The full message says where it looked and how to install them.
var ErrBinariesNotFound = errors.New("PostgreSQL server binaries (initdb, postgres) were not found")

// minServerMajor is the oldest PostgreSQL the managed cluster runs: realtime relies on
// publication row filters and column lists, which arrived in 15.
const minServerMajor = 15

// installHint finishes every ErrBinariesNotFound message with what the user can do about it.
const installHint = "Install them — Debian/Ubuntu: `apt-get install postgresql`, " +
	"Fedora: `dnf install postgresql-server`, macOS: `brew install postgresql@16` — " +
	"or set DATABASE_URL to use an existing PostgreSQL server."

// defaultInstallPatterns are where distribution packages put versioned server binaries
// that are usually not on PATH: Debian/Ubuntu, then the PGDG packages for RHEL/Fedora.
func defaultInstallPatterns() []string {
	return []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"}
}

var serverVersionPattern = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?`)

// serverBinaries is one PostgreSQL installation's bin directory.
type serverBinaries struct {
	dir     string
	major   int
	version string // as printed by postgres --version, e.g. "15.18"
}

func (b serverBinaries) initdb() string   { return filepath.Join(b.dir, "initdb") }
func (b serverBinaries) postgres() string { return filepath.Join(b.dir, "postgres") }

// binarySearch says where to look for server binaries. It is a value rather than a set of
// package constants so that a test can describe a machine that has none.
type binarySearch struct {
	binDir   string   // explicit directory; when set nothing else is searched
	path     string   // PATH-style list searched for pg_config and postgres
	patterns []string // globs of versioned install directories, newest major wins
}

func defaultBinarySearch(binDir string) binarySearch {
	return binarySearch{binDir: binDir, path: os.Getenv("PATH"), patterns: defaultInstallPatterns()}
}

// find returns the first usable installation in search order: the explicit directory, then
// pg_config --bindir, then PATH, then the install patterns. wantMajor, when not zero, is the
// major version of an existing cluster: PostgreSQL cannot open another major's data files, so
// only that version is usable.
func (s binarySearch) find(ctx context.Context, wantMajor int) (serverBinaries, error) {
	var looked, unusable []string
	accept := func(candidates []string) (serverBinaries, bool) {
		for _, dir := range candidates {
			b, err := probeBinDir(ctx, dir)
			switch {
			case err != nil:
				if !errors.Is(err, os.ErrNotExist) {
					unusable = append(unusable, fmt.Sprintf("%s (%v)", dir, err))
				}
			case b.major < minServerMajor:
				unusable = append(unusable, fmt.Sprintf("%s (PostgreSQL %s, need %d or newer)", dir, b.version, minServerMajor))
			case wantMajor != 0 && b.major != wantMajor:
				unusable = append(unusable, fmt.Sprintf("%s (PostgreSQL %s, the cluster needs %d)", dir, b.version, wantMajor))
			default:
				return b, true
			}
		}
		return serverBinaries{}, false
	}

	if s.binDir != "" {
		looked = append(looked, s.binDir+" (the configured bin dir)")
		if b, ok := accept([]string{s.binDir}); ok {
			return b, nil
		}
		return serverBinaries{}, notFoundError(looked, unusable, wantMajor)
	}

	looked = append(looked, "pg_config --bindir")
	if dir, ok := pgConfigBinDir(ctx, s.path); ok {
		if b, ok := accept([]string{dir}); ok {
			return b, nil
		}
	}

	looked = append(looked, "PATH ("+s.path+")")
	if dir, ok := lookPathIn(s.path, "postgres"); ok {
		if b, ok := accept([]string{filepath.Dir(dir)}); ok {
			return b, nil
		}
	}

	looked = append(looked, s.patterns...)
	if b, ok := accept(newestFirst(ctx, s.patterns)); ok {
		return b, nil
	}
	return serverBinaries{}, notFoundError(looked, unusable, wantMajor)
}

func notFoundError(looked, unusable []string, wantMajor int) error {
	var found string
	if len(unusable) > 0 {
		found = "; found but not usable: " + strings.Join(unusable, ", ")
	}
	var version string
	if wantMajor != 0 {
		version = fmt.Sprintf(" The existing cluster was created by PostgreSQL %d and needs that major version.", wantMajor)
	}
	return fmt.Errorf("%w (looked in: %s%s).%s %s", ErrBinariesNotFound, strings.Join(looked, ", "), found, version, installHint)
}

// newestFirst expands the install patterns and orders the directories by the server major
// version in them, newest first, so a machine with 15 and 16 installed runs 16.
func newestFirst(ctx context.Context, patterns []string) []string {
	type candidate struct {
		dir   string
		major int
	}
	var cands []candidate
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			continue
		}
		for _, dir := range matches {
			b, err := probeBinDir(ctx, dir)
			major := 0
			if err == nil {
				major = b.major
			}
			cands = append(cands, candidate{dir: dir, major: major})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].major > cands[j].major })
	dirs := make([]string, len(cands))
	for i, c := range cands {
		dirs[i] = c.dir
	}
	return dirs
}

// probeBinDir checks that dir holds both initdb and postgres and asks postgres its version.
// It wraps os.ErrNotExist when the binaries are simply absent.
func probeBinDir(ctx context.Context, dir string) (serverBinaries, error) {
	for _, name := range []string{"initdb", "postgres"} {
		if !isExecutable(filepath.Join(dir, name)) {
			return serverBinaries{}, fmt.Errorf("%s: %w", filepath.Join(dir, name), os.ErrNotExist)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return serverBinaries{}, fmt.Errorf("postgres --version: %w", err)
	}
	major, version, err := parseServerVersion(string(out))
	if err != nil {
		return serverBinaries{}, err
	}
	return serverBinaries{dir: dir, major: major, version: version}, nil
}

// parseServerVersion reads "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)".
func parseServerVersion(out string) (major int, version string, err error) {
	m := serverVersionPattern.FindStringSubmatch(out)
	if m == nil {
		return 0, "", fmt.Errorf("unrecognised postgres --version output %q", strings.TrimSpace(out))
	}
	major, err = strconv.Atoi(m[1])
	if err != nil {
		return 0, "", fmt.Errorf("unrecognised postgres --version output %q: %w", strings.TrimSpace(out), err)
	}
	version = m[1]
	if m[2] != "" {
		version += "." + m[2]
	}
	return major, version, nil
}

func pgConfigBinDir(ctx context.Context, path string) (string, bool) {
	pgConfig, ok := lookPathIn(path, "pg_config")
	if !ok {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, pgConfig, "--bindir").Output()
	if err != nil {
		return "", false
	}
	dir := strings.TrimSpace(string(out))
	return dir, dir != ""
}

// lookPathIn is exec.LookPath over an explicit PATH value rather than the process's own.
func lookPathIn(path, name string) (string, bool) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, true
		}
	}
	return "", false
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}
