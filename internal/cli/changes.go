package cli

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/goforward/goforward/internal/realtime/changefeed"
	"github.com/goforward/goforward/internal/realtime/replication"
	"github.com/goforward/goforward/internal/webhooks"
)

// webhookWatchInterval is how often serve looks for tables that new webhooks follow: a
// webhook delivers the changes committed from then on.
const webhookWatchInterval = 10 * time.Second

// changeFeed runs the change feed (internal/realtime/changefeed) for the embedding program's
// change hooks and the admin API's webhooks, and the webhooks' deliveries. The program's
// tables are published and the slot created before serve listens; the webhooks' tables are
// picked up as webhooks appear, and the feed only starts once there is a table to follow.
type changeFeed struct {
	d       *database
	logger  *slog.Logger
	handle  func(ctx context.Context, ch *replication.Change) error
	tables  []string
	feed    *changefeed.Feed
	deliver *webhooks.Deliverer
}

func newChangeFeed(ctx context.Context, d *database, emb *Embedding, logger *slog.Logger) (*changeFeed, error) {
	c := &changeFeed{d: d, logger: logger, deliver: webhooks.NewDeliverer(webhooks.Config{}, d.admin, nil, logger)}
	if emb != nil {
		c.tables, c.handle = emb.ChangeTables, emb.HandleChange
	}
	if len(c.tables) == 0 {
		return c, nil
	}
	if err := c.start(ctx, c.tables); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *changeFeed) start(ctx context.Context, tables []string) error {
	feed, err := changefeed.New(changefeed.Config{Tables: tables}, c.d.admin, c.logger, c.emit)
	if err != nil {
		return err
	}
	if err := feed.Prepare(ctx); err != nil {
		return err
	}
	c.feed = feed
	return nil
}

// emit hands a change to the program's hooks, then writes the webhooks' deliveries of it;
// only then is its position recorded.
func (c *changeFeed) emit(ctx context.Context, ch *replication.Change) error {
	table := ch.Schema + "." + ch.Table
	if c.handle != nil && slices.Contains(c.tables, table) {
		if err := c.handle(ctx, ch); err != nil {
			return err
		}
	}
	return webhooks.Enqueue(ctx, c.d.admin, table, ch.Type, changefeed.Payload(ch))
}

func (c *changeFeed) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.deliver.Run(ctx) })
	g.Go(func() error { return c.follow(ctx) })
	return g.Wait()
}

// follow publishes the webhooks' tables as they appear, starting the feed with the first.
func (c *changeFeed) follow(ctx context.Context) error {
	running := false
	published := map[string]bool{}
	for _, t := range c.tables {
		published[t] = true
	}
	g, gctx := errgroup.WithContext(ctx)
	ticker := time.NewTicker(webhookWatchInterval)
	defer ticker.Stop()
	for {
		if tables, err := webhooks.Tables(ctx, c.d.admin); err != nil {
			if ctx.Err() == nil {
				c.logger.WarnContext(ctx, "webhooks: read the webhooks' tables", "error", err)
			}
		} else {
			c.publish(ctx, tables, published)
		}
		if c.feed != nil && !running {
			running = true
			g.Go(func() error { return c.feed.Run(gctx) })
		}
		select {
		case <-ctx.Done():
			return g.Wait()
		case <-ticker.C:
		}
	}
}

func (c *changeFeed) publish(ctx context.Context, tables []string, published map[string]bool) {
	for _, t := range tables {
		if published[t] {
			continue
		}
		var err error
		if c.feed == nil {
			err = c.start(ctx, []string{t})
		} else {
			err = c.feed.Follow(ctx, t)
		}
		if err != nil {
			if ctx.Err() == nil {
				c.logger.ErrorContext(ctx, "webhooks: cannot follow a webhook's table", "table", t, "error", err)
			}
			continue
		}
		published[t] = true
	}
}
