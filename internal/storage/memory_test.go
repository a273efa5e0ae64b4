package storage_test

import (
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/storage"
)

// largeObjectSize is streamed up and down in TestLargeObjectsStreamInBoundedMemory.
const largeObjectSize = 1 << 30

// Bounds on growth while a 1 GiB object goes up and down. Holding the object, or any
// sizeable fraction of it, would blow both by far. The heap bound covers what a transfer
// legitimately holds (copy buffers of 256 KiB, HTTP and TLS-less connection buffers, the
// gateway's and the client's) with a wide margin for the runtime's own pacing; the RSS bound
// adds what the race detector's shadow memory and freed-but-unreturned spans cost.
const (
	maxHeapGrowth = 64 << 20
	maxRSSGrowth  = 256 << 20
)

// TestLargeObjectsStreamInBoundedMemory uploads and downloads 1 GiB and checks that memory
// stays bounded. It does not run in parallel: memory is measured for the whole process.
//
// It runs on the local backend only. The S3 backend's test server (gofakes3 with s3mem)
// lives in this same process and keeps every object in memory: it reads each multipart part
// whole and appends the parts into one slice on completion, so the process holds the object
// at least once, up to twice, whatever the service does. No size makes that growth tell the
// service's buffering apart from the fake's storage, so such a run would prove nothing about
// our code.
func TestLargeObjectsStreamInBoundedMemory(t *testing.T) {
	e := newEnv(t, "local", storage.Config{FileSizeLimit: 2 << 30})
	e.createBucket(t, map[string]any{"name": "large"})

	runtime.GC()
	sampler := startMemorySampler()
	defer sampler.stop()

	sent := sha256.New()
	body := io.TeeReader(io.LimitReader(&blockReader{}, largeObjectSize), sent)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL+"/storage/v1/object/large/huge.bin", body)
	require.NoError(t, err)
	req.ContentLength = largeObjectSize
	req.Header.Set("apikey", e.ServiceRoleKey())
	req.Header.Set("Authorization", "Bearer "+e.ServiceRoleKey())
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", readAll(t, resp.Body))

	req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, e.URL+"/storage/v1/object/large/huge.bin", nil)
	require.NoError(t, err)
	req.Header.Set("apikey", e.ServiceRoleKey())
	req.Header.Set("Authorization", "Bearer "+e.ServiceRoleKey())
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	received := sha256.New()
	n, err := io.Copy(received, resp.Body)
	require.NoError(t, err)
	require.Equal(t, int64(largeObjectSize), n)
	require.Equal(t, sent.Sum(nil), received.Sum(nil), "the object came back intact")

	heap, rss := sampler.stop()
	t.Logf("peak growth while moving 1 GiB: heap %d KiB, RSS %d KiB", heap>>10, rss>>10)
	require.Less(t, heap, int64(maxHeapGrowth))
	require.Less(t, rss, int64(maxRSSGrowth))
}

// blockReader is an endless stream repeating a 64 KiB block, cheap enough to produce 1 GiB
// under the race detector.
type blockReader struct {
	block []byte
	pos   int
}

func (b *blockReader) Read(p []byte) (int, error) {
	if b.block == nil {
		b.block = patterned(64<<10, 42)
	}
	n := copy(p, b.block[b.pos:])
	b.pos = (b.pos + n) % len(b.block)
	return n, nil
}

// memorySampler records the peak heap and RSS above their level at start.
type memorySampler struct {
	baseHeap, baseRSS int64
	peakHeap, peakRSS atomic.Int64
	done              chan struct{}
	wg                sync.WaitGroup
	once              sync.Once
}

func startMemorySampler() *memorySampler {
	s := &memorySampler{baseHeap: heapBytes(), baseRSS: rssBytes(), done: make(chan struct{})}
	s.wg.Go(func() {
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		for {
			s.observe()
			select {
			case <-s.done:
				return
			case <-ticker.C:
			}
		}
	})
	return s
}

func (s *memorySampler) observe() {
	raise := func(peak *atomic.Int64, v int64) {
		for {
			old := peak.Load()
			if v <= old || peak.CompareAndSwap(old, v) {
				return
			}
		}
	}
	raise(&s.peakHeap, heapBytes()-s.baseHeap)
	raise(&s.peakRSS, rssBytes()-s.baseRSS)
}

// stop ends sampling and returns the peak growth of the heap and of RSS.
func (s *memorySampler) stop() (heap, rss int64) {
	s.once.Do(func() {
		close(s.done)
		s.wg.Wait()
	})
	return s.peakHeap.Load(), s.peakRSS.Load()
}

func heapBytes() int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return int64(sample[0].Value.Uint64())
}

// rssBytes is the process's resident set size (Linux).
func rssBytes() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
