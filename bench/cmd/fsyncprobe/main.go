// Command fsyncprobe times, per 1 MiB file, the durable-write patterns an upload can use on this
// disk: write+fsync (the naive baseline), write+fsync+rename+fsync(dir) (goforward's local
// backend), and link-before-fsync (write, link into place, unlink the temporary, fsync file and
// directory: one journal commit in theory). 60 files each, 3 rounds, in a directory under /tmp.
//
//	go run ./bench/cmd/fsyncprobe
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	dir, _ := os.MkdirTemp("/tmp", "fsb")
	defer os.RemoveAll(dir)
	os.Mkdir(filepath.Join(dir, "tmp"), 0o700)
	os.Mkdir(filepath.Join(dir, "d"), 0o700)
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	n := 60
	for round := 0; round < 3; round++ {
		t := time.Now()
		for i := range n {
			f, _ := os.Create(filepath.Join(dir, "d", fmt.Sprint("n", i)))
			f.Write(data)
			must(f.Sync())
			f.Close()
		}
		naive := time.Since(t) / time.Duration(n)
		t = time.Now()
		for i := range n {
			tmp := filepath.Join(dir, "tmp", fmt.Sprint("a", i))
			f, _ := os.Create(tmp)
			f.Write(data)
			must(f.Sync())
			f.Close()
			must(os.Rename(tmp, filepath.Join(dir, "d", fmt.Sprint("a", round, i))))
			d, _ := os.Open(filepath.Join(dir, "d"))
			must(d.Sync())
			d.Close()
		}
		a := time.Since(t) / time.Duration(n)
		t = time.Now()
		for i := range n {
			tmp := filepath.Join(dir, "tmp", fmt.Sprint("b", i))
			f, _ := os.Create(tmp)
			f.Write(data)
			must(os.Link(tmp, filepath.Join(dir, "d", fmt.Sprint("b", round, i))))
			must(os.Remove(tmp))
			must(f.Sync())
			f.Close()
			d, _ := os.Open(filepath.Join(dir, "d"))
			must(d.Sync())
			d.Close()
		}
		b := time.Since(t) / time.Duration(n)
		fmt.Println("naive", naive, "sync-rename-dirsync", a, "link-sync-dirsync", b)
	}
}
