package storage

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/storage/blob"
	"github.com/goforward/goforward/internal/storage/localfs"
)

// fileReceiver is a ResponseWriter that, like net/http's, has a ReadFrom; it records what it
// was handed, the way the connection would receive a file for sendfile.
type fileReceiver struct {
	*httptest.ResponseRecorder
	files int // sources that were *os.File sections
}

func (f *fileReceiver) ReadFrom(src io.Reader) (int64, error) {
	if l, ok := src.(*io.LimitedReader); ok {
		if _, isFile := l.R.(*os.File); isFile {
			f.files++
		}
	}
	return io.Copy(f.ResponseRecorder, src)
}

// TestDownloadHandsTheFileToTheConnection: a download from the local backend reaches the
// connection's ReadFrom with the file itself (net/http then uses sendfile), through the
// status writer the gateway wraps every response in, whole and for a range, with the same
// bytes as before.
func TestDownloadHandsTheFileToTheConnection(t *testing.T) {
	backend, err := localfs.New(localfs.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("0123456789abcdef", 4096))
	if _, err := backend.Put(context.Background(), "bucket/object", bytes.NewReader(data), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rangeHeader string
		want        []byte
		status      int
	}{
		{"", data, http.StatusOK},
		{"bytes=100-60099", data[100:60100], http.StatusPartialContent},
	} {
		content := &blobContent{size: int64(len(data))}
		content.open = func(offset int64) (io.ReadCloser, error) {
			rc, _, err := backend.Open(context.Background(), "bucket/object", offset, -1)
			return rc, err
		}
		receiver := &fileReceiver{ResponseRecorder: httptest.NewRecorder()}
		status := httpx.NewStatusWriter(receiver)
		r := httptest.NewRequest(http.MethodGet, "/object", nil)
		if tc.rangeHeader != "" {
			r.Header.Set("Range", tc.rangeHeader)
		}
		http.ServeContent(&progressWriter{ResponseWriter: status, extend: func() {}}, r, "", time.Time{}, content)
		content.Close()
		if receiver.Code != tc.status || !bytes.Equal(receiver.Body.Bytes(), tc.want) {
			t.Fatalf("range %q: status %d, %d bytes (want %d, %d bytes)", tc.rangeHeader, receiver.Code, receiver.Body.Len(), tc.status, len(tc.want))
		}
		if receiver.files == 0 {
			t.Errorf("range %q: the file never reached the connection's ReadFrom", tc.rangeHeader)
		}
		if status.BytesWritten() != int64(len(tc.want)) {
			t.Errorf("range %q: the status writer counted %d bytes, want %d", tc.rangeHeader, status.BytesWritten(), len(tc.want))
		}
	}
}
