package db

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeInstall creates root/<name>/bin holding an initdb and a postgres that report version.
// It stands for an installation this machine does not have (an old or a future major).
func fakeInstall(t *testing.T, root, name, version string) string {
	t.Helper()
	dir := filepath.Join(root, name, "bin")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	script := "#!/bin/sh\necho 'postgres (PostgreSQL) " + version + "'\n"
	for _, bin := range []string{"initdb", "postgres"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, bin), []byte(script), 0o755))
	}
	return dir
}

func TestManagedSaysHowToInstallMissingBinaries(t *testing.T) {
	t.Parallel()
	nothing := t.TempDir()
	pattern := filepath.Join(nothing, "*", "bin")
	m := newTestManaged(t, ManagedConfig{Dir: clusterDir(t)})
	m.search = binarySearch{path: nothing, patterns: []string{pattern}}

	err := m.Start(t.Context())
	require.ErrorIs(t, err, ErrBinariesNotFound)
	require.EqualError(t, err, "PostgreSQL server binaries (initdb, postgres) were not found "+
		"(looked in: pg_config --bindir, PATH ("+nothing+"), "+pattern+"). "+
		"Install them — Debian/Ubuntu: `apt-get install postgresql`, Fedora: `dnf install postgresql-server`, "+
		"macOS: `brew install postgresql@16` — or set DATABASE_URL to use an existing PostgreSQL server.")
}

func TestFindBinariesUsesTheConfiguredDirOnly(t *testing.T) {
	t.Parallel()
	installed := installedBinaries(t)
	b, err := binarySearch{binDir: installed.dir}.find(t.Context(), 0)
	require.NoError(t, err)
	require.Equal(t, installed, b)

	empty := t.TempDir()
	_, err = binarySearch{binDir: empty, path: installed.dir}.find(t.Context(), 0)
	require.ErrorIs(t, err, ErrBinariesNotFound)
	require.ErrorContains(t, err, "looked in: "+empty+" (the configured bin dir))")
}

func TestFindBinariesSearchOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	installed := installedBinaries(t)
	root := t.TempDir()
	old := fakeInstall(t, root, "14", "14.11")
	future := fakeInstall(t, root, "99", "99.1")
	versioned := filepath.Join(root, "*", "bin")

	// Install patterns: the newest major wins, unless an existing cluster needs another.
	b, err := binarySearch{patterns: []string{versioned, installed.dir}}.find(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, future, b.dir)
	b, err = binarySearch{patterns: []string{versioned, installed.dir}}.find(ctx, installed.major)
	require.NoError(t, err)
	require.Equal(t, installed.dir, b.dir)

	// PATH comes before the install patterns.
	b, err = binarySearch{path: installed.dir, patterns: []string{versioned}}.find(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, installed.dir, b.dir)

	// pg_config comes before PATH.
	tools := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(tools, "pg_config"),
		[]byte("#!/bin/sh\necho '"+installed.dir+"'\n"), 0o755))
	b, err = binarySearch{path: tools + string(os.PathListSeparator) + future}.find(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, installed.dir, b.dir)

	// Too old is reported as found but unusable.
	_, err = binarySearch{patterns: []string{old}}.find(ctx, 0)
	require.ErrorIs(t, err, ErrBinariesNotFound)
	require.ErrorContains(t, err, "found but not usable: "+old+" (PostgreSQL 14.11, need 15 or newer)")

	// A cluster of a major that is not installed says which one it needs.
	_, err = binarySearch{patterns: []string{future}}.find(ctx, installed.major)
	require.ErrorIs(t, err, ErrBinariesNotFound)
	require.ErrorContains(t, err, "The existing cluster was created by PostgreSQL")
}

func TestParseServerVersion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		out     string
		major   int
		version string
	}{
		{"postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", 15, "15.18"},
		{"postgres (PostgreSQL) 16.4\n", 16, "16.4"},
		{"postgres (PostgreSQL) 17beta2\n", 17, "17"},
	}
	for _, c := range cases {
		major, version, err := parseServerVersion(c.out)
		require.NoError(t, err, c.out)
		require.Equal(t, c.major, major, c.out)
		require.Equal(t, c.version, version, c.out)
	}
	_, _, err := parseServerVersion("bash: postgres: command not found")
	require.Error(t, err)
}
