package gateway

import (
	"io"
	"net/http"
	"strings"

	"github.com/goforward/goforward/internal/httpx"
)

// parkedContentRange holds a Content-Range that does not count bytes while gzhttp decides
// whether to compress. gzhttp leaves every response with a Content-Range uncompressed, but
// only byte ranges address the identity encoding: PostgREST's "Content-Range: 0-99/*" counts
// rows, is sent on every REST read, and must not cost those responses their compression.
const parkedContentRange = "X-Goforward-Parked-Content-Range"

// compress gzips responses for clients that accept it, except WebSocket upgrades (the
// connection is handed over raw) and range requests (byte offsets refer to the identity
// encoding). Responses with a byte Content-Range ("bytes 0-9/100") or a Content-Encoding, or
// under 1 KiB, pass as they are; a Content-Range in another unit (PostgREST's row counts) is
// no reason to skip compression.
func (g *Gateway) compress(next http.Handler) http.Handler {
	if g.gzip == nil {
		return next
	}
	gzipped := g.gzip(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&rangeParker{ResponseWriter: w}, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" || r.Header.Get("Range") != "" {
			next.ServeHTTP(w, r)
			return
		}
		gzipped.ServeHTTP(&rangeRestorer{ResponseWriter: w}, r)
		// gzhttp never touches the connection for a response without status or body bytes;
		// net/http sends its headers after this returns.
		restoreContentRange(w.Header())
	})
}

// isByteRange reports whether a Content-Range value is in the "bytes" unit (RFC 9110 §14.4;
// range units are case-insensitive).
func isByteRange(contentRange string) bool {
	unit, _, found := strings.Cut(strings.TrimSpace(contentRange), " ")
	return found && strings.EqualFold(unit, "bytes")
}

// parkContentRange moves a Content-Range that is not a byte range out of gzhttp's sight.
func parkContentRange(h http.Header) {
	cr := h.Get("Content-Range")
	if cr == "" || isByteRange(cr) {
		return
	}
	h.Del("Content-Range")
	h.Set(parkedContentRange, cr)
}

// restoreContentRange puts a parked Content-Range back before the headers go out.
func restoreContentRange(h http.Header) {
	cr := h.Get(parkedContentRange)
	if cr == "" {
		return
	}
	h.Del(parkedContentRange)
	h.Set("Content-Range", cr)
}

// rangeParker sits between the handler and gzhttp, parking the Content-Range once the
// handler commits to a final status or starts the body, which is when gzhttp looks.
type rangeParker struct {
	http.ResponseWriter
	parked bool
}

func (p *rangeParker) park() {
	if !p.parked {
		p.parked = true
		parkContentRange(p.Header())
	}
}

// WriteHeader parks the Content-Range for final statuses; 1xx headers go out as they are.
func (p *rangeParker) WriteHeader(code int) {
	if code >= http.StatusOK {
		p.park()
	}
	p.ResponseWriter.WriteHeader(code)
}

// Write parks the Content-Range before gzhttp buffers the first bytes.
func (p *rangeParker) Write(b []byte) (int, error) {
	p.park()
	return p.ResponseWriter.Write(b)
}

// FlushError parks the Content-Range because a flush may commit the headers.
func (p *rangeParker) FlushError() error {
	p.park()
	return http.NewResponseController(p.ResponseWriter).Flush()
}

// Flush implements http.Flusher for handlers that assert it directly.
func (p *rangeParker) Flush() { _ = p.FlushError() }

// Unwrap lets http.ResponseController reach the gzhttp writer and the connection.
func (p *rangeParker) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// ReadFrom parks the Content-Range and passes a file on towards the connection's sendfile
// (gzhttp's writer, when it compresses, takes it through Write).
func (p *rangeParker) ReadFrom(src io.Reader) (int64, error) {
	p.park()
	return httpx.ReadFrom(p.ResponseWriter, src)
}

// rangeRestorer sits between gzhttp and the connection, restoring a parked Content-Range
// whenever gzhttp commits the headers, compressed or not.
type rangeRestorer struct {
	http.ResponseWriter
}

// WriteHeader restores the Content-Range before the status line goes out.
func (w *rangeRestorer) WriteHeader(code int) {
	restoreContentRange(w.Header())
	w.ResponseWriter.WriteHeader(code)
}

// Write restores the Content-Range in case the headers go out with these bytes.
func (w *rangeRestorer) Write(b []byte) (int, error) {
	restoreContentRange(w.Header())
	return w.ResponseWriter.Write(b)
}

// FlushError restores the Content-Range because a flush may commit the headers.
func (w *rangeRestorer) FlushError() error {
	restoreContentRange(w.Header())
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher for callers that assert it directly.
func (w *rangeRestorer) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the connection.
func (w *rangeRestorer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReadFrom restores the Content-Range and passes a file on towards the connection's sendfile.
func (w *rangeRestorer) ReadFrom(src io.Reader) (int64, error) {
	restoreContentRange(w.Header())
	return httpx.ReadFrom(w.ResponseWriter, src)
}
