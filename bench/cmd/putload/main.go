// Command putload uploads one file N times with C concurrent HTTP PUTs (or POSTs) and prints
// the throughput: the load generator of bench/storagebench/upload_vs_naiveput.sh. Request i
// goes to URLPREFIX + i mod C, so a run overwrites the same C names and the disk does not fill.
//
//	putload -file f.bin -n 64 -c 16 -url http://127.0.0.1:47402/u -H 'Authorization: Bearer …'
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	file := flag.String("file", "", "file to upload")
	n := flag.Int("n", 16, "uploads in all")
	c := flag.Int("c", 1, "concurrent uploads")
	url := flag.String("url", "", "URL prefix; the upload's slot number is appended")
	method := flag.String("method", http.MethodPut, "HTTP method")
	var hs headers
	flag.Var(&hs, "H", "request header 'Name: value' (repeatable)")
	flag.Parse()
	info, err := os.Stat(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c, DisableCompression: true}}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				if err := upload(client, *method, *url+strconv.FormatInt(i%int64(*c), 10), *file, info.Size(), hs); err != nil {
					fmt.Fprintln(os.Stderr, err)
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed.Load() > 0 {
		fmt.Fprintf(os.Stderr, "%d uploads failed\n", failed.Load())
		os.Exit(1)
	}
	fmt.Printf("%.1f\n", float64(info.Size())*float64(*n)/elapsed.Seconds()/1e6)
}

func upload(client *http.Client, method, url, file string, size int64, hs headers) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	req, err := http.NewRequest(method, url, f)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	for _, h := range hs {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", url, resp.Status, body)
	}
	return nil
}
