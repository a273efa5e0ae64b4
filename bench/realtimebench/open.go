package realtimebench

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
)

// openConcurrency bounds dials in flight: enough to open thousands in seconds without the
// listen backlog overflowing.
const openConcurrency = 64

// openMany runs open for i in [0, n) with bounded concurrency and returns the clients in
// order. On error it closes what it opened and reports how many were open.
func openMany(ctx context.Context, n int, open func(ctx context.Context, i int) (*client, error)) ([]*client, error) {
	clients := make([]*client, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(openConcurrency)
	for i := range n {
		g.Go(func() error {
			c, err := open(gctx, i)
			if err != nil {
				return fmt.Errorf("connection %d: %w", i+1, err)
			}
			clients[i] = c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		var opened []*client
		var mu sync.Mutex
		for _, c := range clients {
			if c != nil {
				mu.Lock()
				opened = append(opened, c)
				mu.Unlock()
			}
		}
		closeAll(opened)
		return nil, fmt.Errorf("%w (%d of %d were open)", err, len(opened), n)
	}
	return clients, nil
}
