// Package localfs keeps blobs in a local directory: Go Forward's default storage backend.
//
// Layout under Config.Dir: the key "avatars/user/photo.png/<version>" is the file
// "avatars/user/photo.png/<version>~". Every blob file name ends in blob.ReservedChar, which
// no key contains, so a key ("a") and a key below it ("a/b") never fight over one name: the
// first is the file "a~", the second lives in the directory "a". Uploads are written to
// "~tmp/" first, fsynced, renamed into place and the directory fsynced, so a crash leaves
// either the old blob or the new one, never a torn file.
//
// All file access goes through an os.Root opened on Config.Dir, so no key (and no symlink
// planted in the directory) can reach a file outside it; blob.CheckKey refuses "..",
// absolute paths and control characters before that.
package localfs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/goforward/goforward/internal/storage/blob"
)

// Defaults applied by New.
const (
	// DefaultStaleTempAge is how old a temporary file must be before New removes it as the
	// leftover of a crashed process.
	DefaultStaleTempAge = time.Hour
	// maxNameBytes is the longest file name Linux file systems accept (NAME_MAX).
	maxNameBytes = 255
	// tempDir holds files being written; its name contains blob.ReservedChar, so no key
	// can name it.
	tempDir = "~tmp"
	// renameAttempts bounds retries when a concurrent Delete removes an emptied directory
	// between MkdirAll and Rename.
	renameAttempts = 5
)

// Config configures the local backend.
type Config struct {
	// Dir is the directory blobs live in; it is created (0700) when missing. Required.
	Dir string
	// StaleTempAge: temporary files older than this are removed by New. Default 1h.
	StaleTempAge time.Duration
	// WrapFile, when set, wraps the writer of each file being written: the seam through which
	// tests inject file-system failures (a full disk). nil: none.
	WrapFile func(io.Writer) io.Writer
}

// Backend is a blob.Backend over a local directory.
type Backend struct {
	root     *os.Root
	dir      string
	wrapFile func(io.Writer) io.Writer
}

var (
	_ blob.Backend = (*Backend)(nil)
	_ blob.Lister  = (*Backend)(nil)
)

// New opens (creating if needed) the directory and removes temporary files a crashed
// process left behind. Close releases it.
func New(cfg Config) (*Backend, error) {
	if cfg.Dir == "" {
		return nil, errors.New("localfs: Config.Dir is required")
	}
	if cfg.StaleTempAge <= 0 {
		cfg.StaleTempAge = DefaultStaleTempAge
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("localfs: create %s: %w", cfg.Dir, err)
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("localfs: open %s: %w", cfg.Dir, err)
	}
	b := &Backend{root: root, dir: cfg.Dir, wrapFile: cfg.WrapFile}
	if err := root.MkdirAll(tempDir, 0o700); err != nil {
		root.Close()
		return nil, fmt.Errorf("localfs: create %s: %w", tempDir, err)
	}
	if err := b.removeStaleTemps(time.Now().Add(-cfg.StaleTempAge)); err != nil {
		root.Close()
		return nil, err
	}
	return b, nil
}

// Dir returns the directory the backend stores blobs in.
func (b *Backend) Dir() string { return b.dir }

// Close releases the directory.
func (b *Backend) Close() error { return b.root.Close() }

// TempFiles lists the temporary files being written right now (names relative to Dir); a
// test uses it to prove an aborted upload left nothing behind.
func (b *Backend) TempFiles() ([]string, error) {
	entries, err := fs.ReadDir(b.root.FS(), tempDir)
	if err != nil {
		return nil, fmt.Errorf("localfs: list temporary files: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, path.Join(tempDir, e.Name()))
	}
	return names, nil
}

func (b *Backend) removeStaleTemps(before time.Time) error {
	entries, err := fs.ReadDir(b.root.FS(), tempDir)
	if err != nil {
		return fmt.Errorf("localfs: list temporary files: %w", err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || info.ModTime().After(before) {
			continue
		}
		if err := b.root.Remove(path.Join(tempDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("localfs: remove stale temporary file: %w", err)
		}
	}
	return nil
}

// location is where a key's blob lives: its directory and file name, relative to the root.
type location struct {
	dir  string // "." for keys of one segment
	file string // dir/name~
}

func locate(key string) (location, error) {
	if err := blob.CheckKey(key); err != nil {
		return location{}, err
	}
	for segment := range strings.SplitSeq(key, "/") {
		if len(segment)+1 > maxNameBytes {
			return location{}, fmt.Errorf("%w: segment longer than %d bytes", blob.ErrInvalidKey, maxNameBytes-1)
		}
	}
	dir, name := path.Split(key)
	dir = path.Clean("./" + dir)
	return location{dir: dir, file: path.Join(dir, name+string(blob.ReservedChar))}, nil
}

// Put implements blob.Backend.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, _ blob.PutOptions) (blob.Attrs, error) {
	loc, err := locate(key)
	if err != nil {
		return blob.Attrs{}, err
	}
	tmp, f, err := b.createTemp()
	if err != nil {
		return blob.Attrs{}, err
	}
	defer func() {
		// After a successful rename the name is gone and Remove fails harmlessly.
		_ = b.root.Remove(tmp)
	}()
	var w io.Writer = f
	if b.wrapFile != nil {
		w = b.wrapFile(f)
	}
	size, err := copyUntilDone(ctx, w, r)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return blob.Attrs{}, fmt.Errorf("localfs: write %s: %w", key, err)
	}
	if err := b.moveIntoPlace(tmp, loc); err != nil {
		return blob.Attrs{}, err
	}
	info, err := b.root.Stat(loc.file)
	if err != nil {
		return blob.Attrs{}, fmt.Errorf("localfs: stat %s: %w", key, err)
	}
	return blob.Attrs{Size: size, ModTime: info.ModTime()}, nil
}

func (b *Backend) createTemp() (string, *os.File, error) {
	var random [12]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", nil, fmt.Errorf("localfs: temporary name: %w", err)
	}
	name := path.Join(tempDir, hex.EncodeToString(random[:]))
	f, err := b.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("localfs: create temporary file: %w", err)
	}
	return name, f, nil
}

// moveIntoPlace renames a finished temporary file to loc and makes the rename durable. A
// concurrent Delete may remove the (then empty) target directory between MkdirAll and
// Rename; that is retried.
func (b *Backend) moveIntoPlace(tmp string, loc location) error {
	var err error
	for range renameAttempts {
		if err = b.root.MkdirAll(loc.dir, 0o700); err != nil {
			return fmt.Errorf("localfs: create directory: %w", err)
		}
		if err = b.root.Rename(tmp, loc.file); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("localfs: move blob into place: %w", err)
	}
	return b.syncDir(loc.dir)
}

func (b *Backend) syncDir(dir string) error {
	d, err := b.root.Open(dir)
	if err != nil {
		return fmt.Errorf("localfs: open directory for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("localfs: sync directory: %w", err)
	}
	return nil
}

// Open implements blob.Backend.
func (b *Backend) Open(_ context.Context, key string, offset, length int64) (io.ReadCloser, blob.Attrs, error) {
	loc, err := locate(key)
	if err != nil {
		return nil, blob.Attrs{}, err
	}
	f, err := b.root.Open(loc.file)
	if err != nil {
		return nil, blob.Attrs{}, notFound(key, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, blob.Attrs{}, fmt.Errorf("localfs: stat %s: %w", key, err)
	}
	attrs := blob.Attrs{Size: info.Size(), ModTime: info.ModTime()}
	if offset < 0 || offset > attrs.Size {
		f.Close()
		return nil, blob.Attrs{}, fmt.Errorf("%w: offset %d, size %d", blob.ErrInvalidRange, offset, attrs.Size)
	}
	if length < 0 || length > attrs.Size-offset {
		length = attrs.Size - offset
	}
	return &readCloser{section: io.NewSectionReader(f, offset, length), file: f}, attrs, nil
}

// readCloser reads a section of file; it implements blob.FileSection for sendfile.
type readCloser struct {
	section *io.SectionReader
	file    *os.File
}

func (r *readCloser) Read(p []byte) (int, error) { return r.section.Read(p) }

func (r *readCloser) Close() error { return r.file.Close() }

// FileSection implements blob.FileSection.
func (r *readCloser) FileSection() (*os.File, int64) {
	_, base, _ := r.section.Outer()
	pos, _ := r.section.Seek(0, io.SeekCurrent)
	return r.file, base + pos
}

// Stat implements blob.Backend.
func (b *Backend) Stat(_ context.Context, key string) (blob.Attrs, error) {
	loc, err := locate(key)
	if err != nil {
		return blob.Attrs{}, err
	}
	info, err := b.root.Stat(loc.file)
	if err != nil {
		return blob.Attrs{}, notFound(key, err)
	}
	return blob.Attrs{Size: info.Size(), ModTime: info.ModTime()}, nil
}

// Delete implements blob.Backend. Directories the deletion leaves empty are removed too, up
// to the root, so deleted prefixes do not pile up as empty directories.
func (b *Backend) Delete(_ context.Context, key string) error {
	loc, err := locate(key)
	if err != nil {
		return err
	}
	if err := b.root.Remove(loc.file); err != nil && !isMissing(err) {
		return fmt.Errorf("localfs: delete %s: %w", key, err)
	}
	for dir := loc.dir; dir != "."; dir = path.Dir(dir) {
		// Fails (ENOTEMPTY) as soon as a directory still holds something: that is the stop.
		if b.root.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// Copy implements blob.Backend with a hard link: blobs are never written in place, so two
// names for one inode behave as two independent copies, and copying costs nothing. The
// link's time is set to now, since a copy is a new blob for anything that ages blobs.
func (b *Backend) Copy(_ context.Context, src, dst string) error {
	from, err := locate(src)
	if err != nil {
		return err
	}
	to, err := locate(dst)
	if err != nil {
		return err
	}
	var random [12]byte
	if _, err := rand.Read(random[:]); err != nil {
		return fmt.Errorf("localfs: temporary name: %w", err)
	}
	tmp := path.Join(tempDir, hex.EncodeToString(random[:]))
	if err := b.root.Link(from.file, tmp); err != nil {
		return notFound(src, err)
	}
	defer func() { _ = b.root.Remove(tmp) }()
	now := time.Now()
	if err := b.root.Chtimes(tmp, now, now); err != nil {
		return fmt.Errorf("localfs: copy %s: %w", src, err)
	}
	return b.moveIntoPlace(tmp, to)
}

// List implements blob.Lister.
func (b *Backend) List(ctx context.Context, prefix string, fn func(key string, attrs blob.Attrs) error) error {
	// Walk only the deepest directory the prefix is certainly inside.
	start := "."
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		start = path.Clean("./" + prefix[:i])
		if blob.CheckKey(start) != nil {
			return nil // no key can live there
		}
	}
	err := fs.WalkDir(b.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if isMissing(err) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p == tempDir {
				return fs.SkipDir
			}
			return nil
		}
		key, isBlob := strings.CutSuffix(p, string(blob.ReservedChar))
		if !isBlob || !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if isMissing(err) {
				return nil // deleted while we walked
			}
			return err
		}
		return fn(key, blob.Attrs{Size: info.Size(), ModTime: info.ModTime()})
	})
	if err != nil {
		return fmt.Errorf("localfs: list %q: %w", prefix, err)
	}
	return nil
}

// isMissing reports a path that does not exist, including one whose "directory" is a file
// (ENOTDIR: the key "a/b" when only "a" exists is simply missing).
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func notFound(key string, err error) error {
	if isMissing(err) {
		return fmt.Errorf("%w: %s", blob.ErrNotFound, key)
	}
	return fmt.Errorf("localfs: %s: %w", key, err)
}

// copyBufferSize is the chunk a Put reads and writes at a time: the only memory an upload
// holds, whatever its size.
const copyBufferSize = 256 << 10

// copyUntilDone copies src to dst like io.Copy, but stops with ctx's error once ctx ends.
func copyUntilDone(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, copyBufferSize)
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		n, readErr := src.Read(buf)
		if n > 0 {
			w, err := dst.Write(buf[:n])
			written += int64(w)
			if err != nil {
				return written, err
			}
		}
		switch {
		case errors.Is(readErr, io.EOF):
			return written, nil
		case readErr != nil:
			return written, readErr
		}
	}
}
