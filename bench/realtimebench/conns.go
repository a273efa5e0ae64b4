package realtimebench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/goforward/goforward/bench/harness"
)

// ConnsResult is one row of the connections table: the server's resident memory with Open
// WebSockets, each joined to a broadcast channel.
type ConnsResult struct {
	Target     int
	Open       int   // connections open and joined when measured
	RSSBefore  int64 // goforward's VmRSS with no benchmark connections
	RSSAfter   int64
	PerConn    int64
	OpenTime   time.Duration // to open and join the connections added for this row
	GeneratorN uint64        // the generator's RLIMIT_NOFILE, the first bound on Open
	Err        error
}

// runConns opens connections up to each target in turn (1,000 then 10,000: the second row
// adds 9,000 to the first), measuring goforward's RSS after each, then closes them all.
func runConns(ctx context.Context, stack *harness.Stack, targets []int, fdLimit uint64, progress io.Writer) []ConnsResult {
	before, err := stack.RSS()
	if err != nil {
		return []ConnsResult{{Err: err}}
	}
	config := map[string]any{
		"broadcast": map[string]any{"ack": false, "self": false},
		"presence":  map[string]any{"key": "", "enabled": false},
		"private":   false,
	}
	var open []*client
	defer func() { closeAll(open) }()
	var results []ConnsResult
	for _, target := range targets {
		res := ConnsResult{Target: target, RSSBefore: before, GeneratorN: fdLimit}
		start := time.Now()
		more, err := openMany(ctx, target-len(open), func(ctx context.Context, i int) (*client, error) {
			c, err := dial(ctx, stack.URL, stack.AnonKey, nil)
			if err != nil {
				return nil, err
			}
			// Many rooms of 100, as an application's users spread over channels.
			if _, err := c.join(ctx, fmt.Sprintf("realtime:room-%d", (len(open)+i)/100), config, ""); err != nil {
				c.close()
				return nil, err
			}
			return c, nil
		})
		res.OpenTime = time.Since(start)
		if err != nil {
			res.Open, res.Err = len(open), err
			results = append(results, res)
			break
		}
		open = append(open, more...)
		// Let the server's allocations settle before reading RSS.
		time.Sleep(2 * time.Second)
		alive := 0
		for _, c := range open {
			if c.alive() {
				alive++
			}
		}
		res.Open = alive
		if res.RSSAfter, err = stack.RSS(); err != nil {
			res.Err = err
		}
		res.PerConn = bytesPerConnection(before, res.RSSAfter, res.Open)
		fmt.Fprintf(progress, "connections: %d open, RSS %d MiB → %d MiB, %d B/conn, opened in %s\n",
			res.Open, before>>20, res.RSSAfter>>20, res.PerConn, res.OpenTime.Round(time.Millisecond))
		results = append(results, res)
	}
	return results
}
