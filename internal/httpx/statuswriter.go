package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// StatusWriter wraps a ResponseWriter to remember the status and the number of body bytes
// written, so middleware can log, count and decide whether an error can still be rendered.
// It forwards Flush and Hijack, and Unwrap lets http.ResponseController reach the connection
// (deadlines, full duplex) through it.
type StatusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// NewStatusWriter wraps w. Wrapping again returns the existing wrapper, so nested users share
// one view of the response.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	if sw, ok := w.(*StatusWriter); ok {
		return sw
	}
	return &StatusWriter{ResponseWriter: w}
}

// WriteHeader records the status of the final (non-1xx) header and forwards it.
func (w *StatusWriter) WriteHeader(code int) {
	if w.status == 0 && (code < 100 || code > 199) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 when no header was written yet, and counts the bytes.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush sends buffered data to the client, committing a 200 if nothing was written yet.
func (w *StatusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over (WebSocket upgrades) and records 101, since the handler
// writes the switching-protocols response on the raw connection.
func (w *StatusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Unwrap returns the wrapped ResponseWriter for http.ResponseController.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Written reports whether the response has been committed (a status was sent or the
// connection was hijacked); after that an error can no longer be rendered.
func (w *StatusWriter) Written() bool { return w.status != 0 }

// Status returns the status sent so far, or 0 when nothing was written yet.
func (w *StatusWriter) Status() int { return w.status }

// BytesWritten returns the number of body bytes passed to Write.
func (w *StatusWriter) BytesWritten() int64 { return w.bytes }

// ReadFrom lets io.Copy reach the connection's own ReadFrom through the wrapper, so that a
// file sent with http.ServeContent goes out with sendfile; the bytes are counted as Write
// counts them.
func (w *StatusWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := ReadFrom(w.ResponseWriter, src)
	w.bytes += n
	return n, err
}

// ReadFrom copies src to w through w's own ReadFrom when it has one (net/http's response uses
// sendfile for files), else through Write. ResponseWriter wrappers call it from their ReadFrom.
func ReadFrom(w http.ResponseWriter, src io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w}, src)
}

// writerOnly hides every method but Write, so that io.Copy does not come back to ReadFrom.
type writerOnly struct{ io.Writer }
