package storage

import (
	"hash"
	"io"
)

// hashingReader feeds what it reads to a hash on a goroutine of its own, so the hash of one
// chunk runs while the caller writes that chunk out (on another core when there is one)
// instead of after it. The hash works on copies in two buffers of its own (a memory copy
// costs a small fraction of MD5), so nothing depends on what the caller does with its
// buffer once Read returns; Read waits only when the hash is two chunks behind.
type hashingReader struct {
	r      io.Reader
	h      hash.Hash
	free   chan []byte // buffers the hash is done with
	chunks chan []byte // buffers waiting to be hashed; nil once closed
	done   chan struct{}
}

func newHashingReader(r io.Reader, h hash.Hash) *hashingReader {
	hr := &hashingReader{r: r, h: h, free: make(chan []byte, 2), chunks: make(chan []byte, 2), done: make(chan struct{})}
	hr.free <- nil
	hr.free <- nil
	go func() {
		defer close(hr.done)
		for chunk := range hr.chunks {
			hr.h.Write(chunk)
			hr.free <- chunk
		}
	}()
	return hr
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	if n > 0 {
		buf := <-hr.free
		hr.chunks <- append(buf[:0], p[:n]...)
	}
	return n, err
}

// Sum waits for every chunk read so far and returns the hash. Read must not be called after.
func (hr *hashingReader) Sum() []byte {
	hr.close()
	return hr.h.Sum(nil)
}

// close ends the goroutine once it has hashed what it was given; it may be called again.
func (hr *hashingReader) close() {
	if hr.chunks == nil {
		return
	}
	close(hr.chunks)
	<-hr.done
	hr.chunks = nil
}
