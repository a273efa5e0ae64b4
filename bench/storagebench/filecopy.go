package storagebench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// fileCopy is the baseline: the same bytes written to and read from plain files in a
// directory on the same disk as goforward's data directory.
type fileCopy struct {
	dir string
}

func (f fileCopy) path(object int) string {
	return filepath.Join(f.dir, "object-"+strconv.Itoa(object))
}

// write stores size bytes of object in a new file and fsyncs it, the least a store that
// acknowledges an upload must do (goforward also renames into place and fsyncs the directory).
func (f fileCopy) write(p pattern, object int, size int64) (err error) {
	file, err := os.OpenFile(f.path(object), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(file, p.reader(object, size)); err != nil {
		return fmt.Errorf("write %s: %w", file.Name(), err)
	}
	return file.Sync()
}

// read reads object's file back and checks its bytes.
func (f fileCopy) read(p pattern, object int, size int64) error {
	file, err := os.Open(f.path(object))
	if err != nil {
		return err
	}
	defer file.Close()
	check := p.checker(object)
	if _, err := io.Copy(check, file); err != nil {
		return fmt.Errorf("read %s: %w", file.Name(), err)
	}
	return check.check(size)
}

// remove deletes the files of objects 0..n-1.
func (f fileCopy) remove(n int) error {
	for i := range n {
		if err := os.Remove(f.path(i)); err != nil {
			return err
		}
	}
	return nil
}
