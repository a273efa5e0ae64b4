package usermigrations

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writeDir writes files (name -> contents) into a new directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644))
	}
	return dir
}

func TestReadDirConventions(t *testing.T) {
	t.Parallel()
	dir := writeDir(t, map[string]string{
		"10_ten.up.sql":                     "select 10;",
		"10_ten.down.sql":                   "select -10;",
		"9_nine.up.sql":                     "select 9;",
		"20240101120000_supabase_style.sql": "select 2024;",
		"seed.sql":                          "select 'seed';",
		"README.md":                         "not sql",
	})
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	files, skipped, err := ReadDir(dir)
	require.NoError(t, err)
	require.Equal(t, []string{"seed.sql"}, skipped)
	require.Len(t, files, 3)
	require.Equal(t, []string{"9", "10", "20240101120000"}, []string{files[0].Version, files[1].Version, files[2].Version}, "numeric order")

	require.Equal(t, "nine", files[0].Name)
	require.False(t, files[0].Reversible(), "no down file")
	require.Equal(t, "ten", files[1].Name)
	require.True(t, files[1].Reversible())
	require.Equal(t, "select -10;", files[1].Down)
	require.Equal(t, filepath.Join(dir, "10_ten.down.sql"), files[1].DownPath)
	require.Equal(t, "supabase_style", files[2].Name, "Supabase's single file is an up-only migration")
	require.Empty(t, files[2].DownPath)
	require.Equal(t, checksum("select 2024;"), files[2].Checksum)

	files, skipped, err = ReadDir(filepath.Join(dir, "absent"))
	require.NoError(t, err, "a directory that does not exist holds no migrations")
	require.Empty(t, files)
	require.Empty(t, skipped)
}

func TestReadDirRefusesAmbiguousFiles(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		files map[string]string
		err   string
	}{
		"two files of one version": {map[string]string{"1_a.up.sql": "", "1_b.sql": ""}, "share version 1"},
		"down without up":          {map[string]string{"1_a.down.sql": ""}, "1_a.down.sql has no up file (1_a.up.sql)"},
		"down of another name":     {map[string]string{"1_a.up.sql": "", "1_b.down.sql": ""}, "have version 1 but different names"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, _, err := ReadDir(writeDir(t, tt.files))
			require.ErrorContains(t, err, tt.err)
		})
	}
}

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Add Posts": "add_posts", "add-tags": "add_tags", "v2_index": "v2_index"} {
		got, err := NormalizeName(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"", "../etc", "a/b", "_x", "semi;colon", string(make([]byte, 101))} {
		_, err := NormalizeName(bad)
		require.ErrorIs(t, err, ErrInvalid, bad)
	}
}

func TestNextVersion(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 14, 9, 30, 0, 0, time.FixedZone("x", 3600))
	require.Equal(t, "20250114083000", nextVersion(now, nil), "UTC, as Supabase writes it")
	require.Equal(t, "20250114083001", nextVersion(now, []string{"20250114083000"}), "a second migration in the same second still sorts last")
	require.Equal(t, "20300101000000", nextVersion(now, []string{"1", "20300100999999"}))
	require.Equal(t, "20250114083000", nextVersion(now, []string{"42"}))
	require.Equal(t, "100", increment("99"))
}
