package db

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverAccount is the OS identity initdb and postgres run as. Both refuse to run as root, so
// a root process hands the cluster to the postgres system user; anyone else runs it as
// themselves.
type serverAccount struct {
	name     string
	uid      uint32
	gid      uint32
	groups   []uint32 // supplementary groups, kept when switching so the checks below hold
	dropRoot bool     // true when we are root and the children must drop to this account
}

// errNoPostgresUser explains the one way running as root can fail before anything starts.
var errNoPostgresUser = errors.New("running as root needs the 'postgres' system user, " +
	"which the postgresql package creates; or run goforward as a normal user")

// accountForServer picks the account for this process: the postgres user when root.
func accountForServer() (serverAccount, error) {
	if os.Geteuid() != 0 {
		return serverAccount{
			name: "current user",
			uid:  uint32(os.Geteuid()),
			gid:  uint32(os.Getegid()),
		}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return serverAccount{}, errNoPostgresUser
		}
		return serverAccount{}, fmt.Errorf("look up the postgres system user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return serverAccount{}, fmt.Errorf("postgres system user has uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return serverAccount{}, fmt.Errorf("postgres system user has gid %q: %w", u.Gid, err)
	}
	acct := serverAccount{name: "postgres", uid: uint32(uid), gid: uint32(gid), dropRoot: true}
	groupIDs, err := u.GroupIds()
	if err != nil {
		return serverAccount{}, fmt.Errorf("groups of the postgres system user: %w", err)
	}
	for _, g := range groupIDs {
		if id, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(id) != acct.gid {
			acct.groups = append(acct.groups, uint32(id))
		}
	}
	return acct, nil
}

// credential is what the children run with; nil keeps our own identity.
func (a serverAccount) credential() *syscall.Credential {
	if !a.dropRoot {
		return nil
	}
	return &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.groups}
}

// chown hands path to the account when the children run as someone else.
func (a serverAccount) chown(path string) error {
	if !a.dropRoot {
		return nil
	}
	if err := os.Lchown(path, int(a.uid), int(a.gid)); err != nil {
		return fmt.Errorf("give %s to the %s user: %w", path, a.name, err)
	}
	return nil
}

// chownTree hands a whole directory to the account, but only walks it when the top is not
// already theirs: a cluster created by another user (or by root before the switch) gets fixed
// once, and a large healthy cluster costs one stat per start.
func (a serverAccount) chownTree(root string) error {
	if !a.dropRoot {
		return nil
	}
	info, err := os.Lstat(root)
	if err != nil {
		return fmt.Errorf("give %s to the %s user: %w", root, a.name, err)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid == a.uid && st.Gid == a.gid {
		return nil
	}
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return a.chown(path)
	})
}

// dirAccess is the part of a directory's stat that decides whether someone may enter it.
type dirAccess struct {
	mode fs.FileMode
	uid  uint32
	gid  uint32
}

// canTraverse applies the kernel's rule for search permission: the owner bits if the account
// owns the directory, else the group bits if it is in the group, else the other bits. A
// matching class that lacks x denies even if a broader class would allow it.
func (a serverAccount) canTraverse(d dirAccess) bool {
	perm := d.mode.Perm()
	switch {
	case d.uid == a.uid:
		return perm&0o100 != 0
	case a.inGroup(d.gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func (a serverAccount) inGroup(gid uint32) bool {
	if gid == a.gid {
		return true
	}
	for _, g := range a.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// untraversableDir returns the outermost directory among dir and its ancestors that the
// account cannot enter, or "" when it can reach dir. stat is os.Stat in production and a
// table of synthetic directories in tests.
func (a serverAccount) untraversableDir(dir string, stat func(string) (dirAccess, error)) (string, dirAccess, error) {
	var chain []string
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		chain = append(chain, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		d, err := stat(chain[i])
		if err != nil {
			return "", dirAccess{}, err
		}
		if !a.canTraverse(d) {
			return chain[i], d, nil
		}
	}
	return "", dirAccess{}, nil
}

func statDirAccess(path string) (dirAccess, error) {
	info, err := os.Stat(path)
	if err != nil {
		return dirAccess{}, fmt.Errorf("check access to %s: %w", path, err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return dirAccess{}, fmt.Errorf("check access to %s: no ownership information", path)
	}
	return dirAccess{mode: info.Mode(), uid: st.Uid, gid: st.Gid}, nil
}

// checkReachable fails with the fix when the account cannot enter dir: a data directory under
// /root, say, makes initdb fail with a bare "Permission denied".
func (a serverAccount) checkReachable(dir string) error {
	if !a.dropRoot {
		return nil
	}
	blocked, d, err := a.untraversableDir(dir, statDirAccess)
	if err != nil {
		return err
	}
	if blocked == "" {
		return nil
	}
	where := "which holds the cluster directory " + dir
	if blocked == dir {
		where = "the cluster directory"
	}
	return fmt.Errorf("the %s system user cannot enter %s (mode %04o, owner uid %d, gid %d), %s: "+
		"chmod o+x %s, or choose --data-dir elsewhere, e.g. /var/lib/goforward",
		a.name, blocked, uint32(d.mode.Perm()), d.uid, d.gid, where, blocked)
}
