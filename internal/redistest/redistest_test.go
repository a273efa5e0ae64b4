package redistest_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/redistest"
)

func TestStartServesAndStops(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	opts, err := redis.ParseURL(srv.URL)
	require.NoError(t, err)
	client := redis.NewClient(opts)
	defer client.Close()
	ctx := context.Background()
	require.NoError(t, client.Set(ctx, "k", "v", 0).Err())
	require.Equal(t, "v", client.Get(ctx, "k").Val())

	srv.Stop()
	require.Error(t, client.Ping(ctx).Err(), "the server is gone after Stop")
	srv.Stop()
}
