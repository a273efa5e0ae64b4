package httpx_test

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/httpx"
)

func TestContextValues(t *testing.T) {
	t.Parallel()

	empty := context.Background()
	require.Empty(t, httpx.RequestID(empty))
	require.False(t, httpx.ClientIP(empty).IsValid())
	require.Same(t, slog.Default(), httpx.Logger(empty))

	logger := slog.New(slog.DiscardHandler)
	ip := netip.MustParseAddr("203.0.113.9")
	ctx := httpx.WithLogger(httpx.WithClientIP(httpx.WithRequestID(empty, "abc"), ip), logger)

	require.Equal(t, "abc", httpx.RequestID(ctx))
	require.Equal(t, ip, httpx.ClientIP(ctx))
	require.Same(t, logger, httpx.Logger(ctx))
}
