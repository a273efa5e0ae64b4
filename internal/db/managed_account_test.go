package db

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCanTraverseAppliesTheKernelsPermissionRule(t *testing.T) {
	t.Parallel()
	pg := serverAccount{name: "postgres", uid: 101, gid: 104, groups: []uint32{103}, dropRoot: true}
	cases := []struct {
		name string
		dir  dirAccess
		want bool
	}{
		{"owner with u+x", dirAccess{mode: 0o700, uid: 101, gid: 0}, true},
		{"owner without u+x is denied even with o+x", dirAccess{mode: 0o601, uid: 101, gid: 0}, false},
		{"primary group with g+x", dirAccess{mode: 0o710, uid: 0, gid: 104}, true},
		{"supplementary group with g+x", dirAccess{mode: 0o710, uid: 0, gid: 103}, true},
		{"group without g+x is denied even with o+x", dirAccess{mode: 0o701, uid: 0, gid: 103}, false},
		{"other with o+x", dirAccess{mode: 0o711, uid: 0, gid: 0}, true},
		{"other without o+x", dirAccess{mode: 0o770, uid: 0, gid: 0}, false},
		{"root's private home", dirAccess{mode: 0o700 | fs.ModeDir, uid: 0, gid: 0}, false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, pg.canTraverse(c.dir), c.name)
	}
}

func TestUntraversableDirNamesTheOutermostBlockedDirectory(t *testing.T) {
	t.Parallel()
	pg := serverAccount{name: "postgres", uid: 101, gid: 104, dropRoot: true}
	tree := map[string]dirAccess{
		"/":                  {mode: 0o755},
		"/root":              {mode: 0o700},
		"/root/app":          {mode: 0o700},
		"/root/app/data":     {mode: 0o711},
		"/var":               {mode: 0o755},
		"/var/lib":           {mode: 0o755},
		"/var/lib/goforward": {mode: 0o711},
	}
	stat := func(p string) (dirAccess, error) {
		d, ok := tree[p]
		if !ok {
			return dirAccess{}, fs.ErrNotExist
		}
		return d, nil
	}

	blocked, d, err := pg.untraversableDir("/root/app/data", stat)
	require.NoError(t, err)
	require.Equal(t, "/root", blocked)
	require.Equal(t, fs.FileMode(0o700), d.mode)

	blocked, _, err = pg.untraversableDir("/var/lib/goforward", stat)
	require.NoError(t, err)
	require.Empty(t, blocked)

	_, _, err = pg.untraversableDir("/srv/elsewhere", stat)
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestManagedRefusesADirectoryThePostgresUserCannotReach(t *testing.T) {
	t.Parallel()
	locked := filepath.Join(filepath.Dir(clusterDir(t)), "locked")
	require.NoError(t, os.Mkdir(locked, 0o700))
	dir := filepath.Join(locked, "pg")

	m := newTestManaged(t, ManagedConfig{Dir: dir})
	err := m.Start(t.Context())
	if os.Geteuid() != 0 {
		// The server runs as the user who owns the directory, so nothing is in its way.
		require.NoError(t, err)
		require.Equal(t, "1", queryText(t, m.DSN(), "SELECT 1::text"))
		return
	}
	require.EqualError(t, err, "the postgres system user cannot enter "+locked+" (mode 0700, owner uid 0, gid 0), "+
		"which holds the cluster directory "+dir+": chmod o+x "+locked+", or choose --data-dir elsewhere, e.g. /var/lib/goforward")
	require.NoDirExists(t, filepath.Join(dir, "data"), "nothing was started")

	require.NoError(t, os.Chmod(locked, 0o711))
	require.NoError(t, m.Start(t.Context()), "the advice works")
}

func TestAccountForServerDropsRootOnlyWhenRoot(t *testing.T) {
	t.Parallel()
	acct, err := accountForServer()
	if errors.Is(err, errNoPostgresUser) {
		require.Zero(t, os.Geteuid(), "only root needs the postgres user")
		return
	}
	require.NoError(t, err)
	require.Equal(t, os.Geteuid() == 0, acct.dropRoot)
	require.Equal(t, acct.dropRoot, acct.credential() != nil)
	if acct.dropRoot {
		require.NotZero(t, acct.uid, "never runs the server as root")
	}
}
