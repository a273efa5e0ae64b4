package storage

import (
	"hash"
	"io"
)

// hashingReader feeds what it reads to a hash on a goroutine of its own, so the hash of one
// chunk runs while the caller writes that chunk out (on another core when there is one)
// instead of after it. The chunk is the caller's buffer: the caller only reads it between
// two calls to Read, and the hash only reads it too; the next Read waits for the hash to be
// done with it before the buffer is filled again.
type hashingReader struct {
	r       io.Reader
	h       hash.Hash
	chunks  chan []byte
	done    chan struct{}
	pending bool
}

func newHashingReader(r io.Reader, h hash.Hash) *hashingReader {
	hr := &hashingReader{r: r, h: h, chunks: make(chan []byte), done: make(chan struct{})}
	go func() {
		for chunk := range hr.chunks {
			hr.h.Write(chunk)
			hr.done <- struct{}{}
		}
	}()
	return hr
}

func (hr *hashingReader) wait() {
	if hr.pending {
		<-hr.done
		hr.pending = false
	}
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	hr.wait()
	n, err := hr.r.Read(p)
	if n > 0 {
		hr.pending = true
		hr.chunks <- p[:n]
	}
	return n, err
}

// Sum waits for every chunk read so far and returns the hash; it ends the goroutine, so it
// is called once, when reading is over (also after a failure: close releases the goroutine).
func (hr *hashingReader) Sum() []byte {
	hr.close()
	return hr.h.Sum(nil)
}

func (hr *hashingReader) close() {
	if hr.chunks == nil {
		return
	}
	hr.wait()
	close(hr.chunks)
	hr.chunks = nil
}
