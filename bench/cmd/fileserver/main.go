// Command fileserver serves a directory with net/http's http.FileServer: the download baseline
// of issue 18 (bench/storagebench/download_vs_fileserver.sh).
//
//	fileserver 127.0.0.1:47402 /path/to/dir
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fileserver ADDRESS DIRECTORY")
		os.Exit(2)
	}
	srv := &http.Server{Addr: os.Args[1], Handler: http.FileServer(http.Dir(os.Args[2])), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "fileserver:", err)
		os.Exit(1)
	}
}
