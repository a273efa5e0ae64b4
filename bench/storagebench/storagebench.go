// Package storagebench measures /storage/v1 of a freshly built goforward: upload and
// download throughput of objects of a few sizes at a few client counts over loopback, each
// next to a plain file copy of the same bytes on the same disk in the same run, and the
// peak resident memory goforward needed for it.
package storagebench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"github.com/goforward/goforward/bench/harness"
)

// MiB is 2^20 bytes.
const MiB = 1 << 20

// Config bounds a run. Zero values mean the stated defaults.
type Config struct {
	Sizes   []int64 // object sizes in bytes; default 1 MiB and 100 MiB
	Clients []int   // concurrent clients; default 1 and 16
	// CellBytes is about how many bytes each cell uploads: a cell moves
	// max(Clients, CellBytes ÷ Size) objects, rounded up to a multiple of Clients so that
	// every client has the same share. Default 400 MiB.
	CellBytes int64
	// Progress receives a line per phase as the run goes. Nil: discarded.
	Progress io.Writer
}

func (c Config) withDefaults() Config {
	if len(c.Sizes) == 0 {
		c.Sizes = []int64{MiB, 100 * MiB}
	}
	if len(c.Clients) == 0 {
		c.Clients = []int{1, 16}
	}
	if c.CellBytes <= 0 {
		c.CellBytes = 400 * MiB
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// objects is how many objects a cell of size and clients moves; see Config.CellBytes.
func (c Config) objects(size int64, clients int) int {
	n := max(int(c.CellBytes/size), clients)
	return (n + clients - 1) / clients * clients
}

// StackOptions are the harness options a run with cfg needs: the storage service alone,
// with an object size limit above the largest size.
func StackOptions(cfg Config) harness.Options {
	cfg = cfg.withDefaults()
	var largest int64
	for _, s := range cfg.Sizes {
		largest = max(largest, s)
	}
	return harness.Options{
		PoolSize: 4,
		Env: []string{
			"GOFORWARD_SERVICES=storage",
			"GOFORWARD_STORAGE_FILE_SIZE_LIMIT=" + strconv.FormatInt(largest+MiB, 10),
			"GOMAXPROCS=" + strconv.Itoa(runtime.GOMAXPROCS(0)),
		},
	}
}

// Report is everything a run measured.
type Report struct {
	Config Config
	// IdleRSS is goforward's resident memory before the first cell.
	IdleRSS int64
	// PeakPerCell is true when each cell's peak was measured from its own start; false when
	// the kernel refused to reset the peak, and each figure is the peak since goforward started.
	PeakPerCell bool
	Cells       []Cell
}

// Bucket is the storage bucket the run creates.
const Bucket = "storagebench"

// Run creates a bucket on stack and measures every cell: for each size and client count,
// uploads, downloads, then the file copy baseline of the same bytes, removing the objects
// and files before the next cell.
func Run(ctx context.Context, stack *harness.Stack, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	pid, dataDir := stack.PID(), stack.DataDir()
	// Next to the data directory, inside the harness's throwaway directory: the same disk.
	copyDir, err := os.MkdirTemp(filepath.Dir(dataDir), "filecopy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(copyDir)

	maxClients := 0
	for _, c := range cfg.Clients {
		maxClients = max(maxClients, c)
	}
	transport := &http.Transport{
		MaxIdleConnsPerHost: maxClients,
		MaxConnsPerHost:     maxClients,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	r := &runner{
		cfg:     cfg,
		stack:   stack,
		pid:     pid,
		pattern: newPattern(5),
		copy:    fileCopy{dir: copyDir},
		client:  &client{http: &http.Client{Transport: transport}, baseURL: stack.URL, key: stack.ServiceRoleKey, bucket: Bucket},
	}
	if err := r.client.createBucket(ctx); err != nil {
		return nil, err
	}
	idle, err := readMemory(pid)
	if err != nil {
		return nil, err
	}
	report := &Report{Config: cfg, IdleRSS: idle.RSS, PeakPerCell: resetPeak(pid) == nil}
	for _, size := range cfg.Sizes {
		for _, clients := range cfg.Clients {
			cell, err := r.cell(ctx, size, clients, report.PeakPerCell)
			if err != nil {
				return nil, fmt.Errorf("%s × %d clients: %w", formatSize(size), clients, err)
			}
			report.Cells = append(report.Cells, cell)
		}
	}
	return report, nil
}

// checkFreeSpace refuses a cell whose objects and files would not fit on the disk of dir
// with a margin of 2 GiB left for everything else on the machine.
func checkFreeSpace(dir string, need int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return err
	}
	free := int64(st.Bavail) * st.Bsize
	if free < need+2<<30 {
		return fmt.Errorf("%s has %d MiB free, the cell needs %d MiB and a 2 GiB margin", dir, free/MiB, need/MiB)
	}
	return nil
}
