package storagebench

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
)

// patternBlockSize is the length of the random block every object's bytes are cut from:
// large enough that no compression or deduplication on the way finds a short repeat.
const patternBlockSize = 1 << 20

// pattern produces the bytes of every object from one random block, so that uploads and the
// file copy stream the same bytes without holding whole objects in memory, and downloads can
// be checked byte for byte.
type pattern struct {
	block []byte
}

// newPattern makes the block from seed: the same seed gives the same bytes.
func newPattern(seed uint64) pattern {
	block := make([]byte, patternBlockSize)
	src := rand.NewChaCha8([32]byte{0: byte(seed), 1: byte(seed >> 8), 2: byte(seed >> 16), 3: byte(seed >> 24)})
	_, _ = src.Read(block) // ChaCha8.Read never fails
	return pattern{block: block}
}

// start is where object's bytes begin in the block; objects start at different places so
// that no two of them are the same.
func (p pattern) start(object int) int {
	return (object * 4099) % len(p.block)
}

// reader streams size bytes of object.
func (p pattern) reader(object int, size int64) io.Reader {
	return &patternReader{block: p.block, pos: p.start(object), remaining: size}
}

// checker compares bytes written to it with object's; see patternChecker.
func (p pattern) checker(object int) *patternChecker {
	return &patternChecker{block: p.block, pos: p.start(object)}
}

type patternReader struct {
	block     []byte
	pos       int
	remaining int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.remaining == 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.remaining, int64(len(r.block)-r.pos))
	copy(p, r.block[r.pos:r.pos+int(n)])
	r.pos = (r.pos + int(n)) % len(r.block)
	r.remaining -= n
	return int(n), nil
}

// patternChecker is an io.Writer that fails at the first byte that differs from the object's.
// Written counts the bytes that matched.
type patternChecker struct {
	block   []byte
	pos     int
	Written int64
}

func (c *patternChecker) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n := min(len(p)-done, len(c.block)-c.pos)
		if !bytes.Equal(p[done:done+n], c.block[c.pos:c.pos+n]) {
			return done, fmt.Errorf("content differs from what was written, within bytes %d to %d", c.Written, c.Written+int64(n))
		}
		done += n
		c.Written += int64(n)
		c.pos = (c.pos + n) % len(c.block)
	}
	return done, nil
}

// check reports whether exactly size matching bytes were written.
func (c *patternChecker) check(size int64) error {
	if c.Written != size {
		return fmt.Errorf("read %d bytes, want %d", c.Written, size)
	}
	return nil
}
