// Command fileserver is the storage baseline of issue 18: GET serves a directory with net/http's
// http.FileServer (the download baseline, bench/storagebench/download_vs_fileserver.sh), and PUT
// /NAME streams the body into DIRECTORY/NAME and fsyncs it before answering (the upload
// baseline, bench/storagebench/upload_vs_naiveput.sh): what a Go developer would write by hand
// for a durable upload.
//
//	fileserver 127.0.0.1:47402 /path/to/dir
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fileserver ADDRESS DIRECTORY")
		os.Exit(2)
	}
	dir := os.Args[2]
	files := http.FileServer(http.Dir(dir))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			files.ServeHTTP(w, r)
			return
		}
		if err := put(filepath.Join(dir, filepath.Base(r.URL.Path)), r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := &http.Server{Addr: os.Args[1], Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "fileserver:", err)
		os.Exit(1)
	}
}

// put is the naive durable upload: stream to the file, fsync it.
func put(name string, body io.Reader) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
