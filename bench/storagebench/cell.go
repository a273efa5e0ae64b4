package storagebench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goforward/goforward/bench/harness"
)

// Cell is one object size at one client count.
type Cell struct {
	Size    int64
	Clients int
	Objects int
	// Upload, Download, CopyWrite and CopyRead are the phases' wall times, each moving
	// Objects × Size bytes.
	Upload, Download, CopyWrite, CopyRead time.Duration
	// UploadCPU and DownloadCPU are the processor time goforward and PostgreSQL used in
	// those phases.
	UploadCPU, DownloadCPU harness.CPUTimes
	// PeakRSS is goforward's peak resident memory during the cell (see Report.PeakPerCell);
	// EndRSS its resident memory when the cell's objects are gone.
	PeakRSS, EndRSS int64
}

// Bytes is what each phase of the cell moved.
func (c Cell) Bytes() int64 { return int64(c.Objects) * c.Size }

// runner holds what every cell uses.
type runner struct {
	cfg     Config
	stack   *harness.Stack
	pid     int
	pattern pattern
	copy    fileCopy
	client  *client
}

// cell measures one size at one client count, and leaves neither objects nor files behind.
func (r *runner) cell(ctx context.Context, size int64, clients int, resetPerCell bool) (Cell, error) {
	c := Cell{Size: size, Clients: clients, Objects: r.cfg.objects(size, clients)}
	if err := checkFreeSpace(r.copy.dir, c.Bytes()); err != nil {
		return c, err
	}
	if resetPerCell {
		if err := resetPeak(r.pid); err != nil {
			return c, err
		}
	}
	prefix := "s" + strconv.FormatInt(size, 10) + "-c" + strconv.Itoa(clients) + "/"
	names := make([]string, c.Objects)
	for i := range names {
		names[i] = prefix + "object-" + strconv.Itoa(i)
	}
	label := fmt.Sprintf("%s × %d clients, %d objects", formatSize(size), clients, c.Objects)

	var err error
	if c.Upload, c.UploadCPU, err = r.phase(ctx, label, "upload", c, func(ctx context.Context, i int) error {
		return r.client.upload(ctx, names[i], r.pattern.reader(i, size), size)
	}); err != nil {
		return c, err
	}
	if c.Download, c.DownloadCPU, err = r.phase(ctx, label, "download", c, func(ctx context.Context, i int) error {
		check := r.pattern.checker(i)
		if err := r.client.download(ctx, names[i], check); err != nil {
			return err
		}
		return check.check(size)
	}); err != nil {
		return c, err
	}
	mem, err := readMemory(r.pid)
	if err != nil {
		return c, err
	}
	c.PeakRSS = mem.Peak
	if err := r.client.remove(ctx, names); err != nil {
		return c, err
	}

	if c.CopyWrite, _, err = r.phase(ctx, label, "file write", c, func(_ context.Context, i int) error {
		return r.copy.write(r.pattern, i, size)
	}); err != nil {
		return c, err
	}
	if c.CopyRead, _, err = r.phase(ctx, label, "file read", c, func(_ context.Context, i int) error {
		return r.copy.read(r.pattern, i, size)
	}); err != nil {
		return c, err
	}
	if err := r.copy.remove(c.Objects); err != nil {
		return c, err
	}
	if mem, err = readMemory(r.pid); err != nil {
		return c, err
	}
	c.EndRSS = mem.RSS
	return c, nil
}

// phase runs op on objects 0..c.Objects-1 from c.Clients workers, each taking the next
// object until none is left, and returns the wall time and the processor time goforward
// and PostgreSQL used. The first error ends the phase.
func (r *runner) phase(ctx context.Context, label, name string, c Cell, op func(ctx context.Context, object int) error) (time.Duration, harness.CPUTimes, error) {
	before, err := r.stack.CPU()
	if err != nil {
		return 0, harness.CPUTimes{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range c.Clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= c.Objects {
					return
				}
				if err := op(ctx, i); err != nil {
					cancel(fmt.Errorf("%s object %d: %w", name, i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return 0, harness.CPUTimes{}, err
	}
	after, err := r.stack.CPU()
	if err != nil {
		return 0, harness.CPUTimes{}, err
	}
	fmt.Fprintf(r.cfg.Progress, "%-36s %-10s %8.1f MB/s  (%s)\n", label, name, mbPerSecond(c.Bytes(), elapsed), elapsed.Round(time.Millisecond))
	return elapsed, after.Sub(before), nil
}
