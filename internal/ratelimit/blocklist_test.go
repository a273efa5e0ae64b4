package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/redistest"
)

// A block made on one node is seen by another sharing the Redis, for as long as it lasts.
func TestBlocklistIsSharedByNodes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	a := NewStore(StoreConfig{Redis: node(t, srv)}).Blocklist("ip")
	b := NewStore(StoreConfig{Redis: node(t, srv)}).Blocklist("ip")
	other := NewStore(StoreConfig{Redis: node(t, srv)}).Blocklist("other")

	_, blocked := b.Blocked(ctx, "203.0.113.1")
	require.False(t, blocked)
	require.NoError(t, a.Block(ctx, "203.0.113.1", time.Hour))
	var left time.Duration
	require.Eventually(t, func() bool {
		left, blocked = b.Blocked(ctx, "203.0.113.1")
		return blocked
	}, 10*time.Second, 5*time.Millisecond, "node b sees node a's block within NegativeTTL")
	require.Greater(t, left, 59*time.Minute)
	_, blocked = a.Blocked(ctx, "203.0.113.1")
	require.True(t, blocked)
	_, blocked = b.Blocked(ctx, "203.0.113.2")
	require.False(t, blocked, "another address")
	_, blocked = other.Blocked(ctx, "203.0.113.1")
	require.False(t, blocked, "another list")

	require.NoError(t, a.Block(ctx, "203.0.113.3", time.Millisecond))
	require.Eventually(t, func() bool {
		_, blocked := b.Blocked(ctx, "203.0.113.3")
		return !blocked
	}, 10*time.Second, 5*time.Millisecond, "a block ends")
}

// While Redis is down a node still refuses what it blocked itself; without Redis a block is
// the node's own.
func TestBlocklistFallsBackToThisNode(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	s := NewStore(StoreConfig{Redis: node(t, srv), Timeout: 200 * time.Millisecond})
	list := s.Blocklist("ip")
	require.NoError(t, list.Block(ctx, "203.0.113.1", time.Hour))
	srv.Stop()
	_, blocked := list.Blocked(ctx, "203.0.113.1")
	require.True(t, blocked, "decided from this node's memory")
	require.Error(t, list.Block(ctx, "203.0.113.2", time.Hour), "Redis is down")
	_, blocked = list.Blocked(ctx, "203.0.113.2")
	require.True(t, blocked, "kept here anyway")

	local := NewStore(StoreConfig{}).Blocklist("ip")
	require.NoError(t, local.Block(ctx, "203.0.113.1", time.Hour))
	_, blocked = local.Blocked(ctx, "203.0.113.1")
	require.True(t, blocked)
}
