package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type readFromRecorder struct {
	*httptest.ResponseRecorder
	calls int
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.calls++
	return io.Copy(r.ResponseRecorder, src)
}

// TestCompressionWrappersPassFilesOn: the writers the compression middleware puts around a
// response hand io.Copy's source on to the connection's ReadFrom (sendfile for downloads),
// parking and restoring a row-count Content-Range as their Write does.
func TestCompressionWrappersPassFilesOn(t *testing.T) {
	inner := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
	restorer := &rangeRestorer{ResponseWriter: inner}
	parker := &rangeParker{ResponseWriter: restorer}
	parker.Header().Set("Content-Range", "0-9/*")
	var w http.ResponseWriter = parker
	n, err := io.Copy(w, struct{ io.Reader }{strings.NewReader("file bytes")})
	if err != nil || n != 10 || inner.Body.String() != "file bytes" {
		t.Fatalf("copied %d, %v: %q", n, err, inner.Body.String())
	}
	if inner.calls != 1 {
		t.Errorf("the connection's ReadFrom was called %d times, want 1", inner.calls)
	}
	if got := inner.Header().Get("Content-Range"); got != "0-9/*" {
		t.Errorf("Content-Range %q after the copy", got)
	}
}
