package tablesecurity_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/tablesecurity"
)

// A running registry follows every change a PUT or DELETE commits, through its notification.
func TestRegistryFollowsCommittedChanges(t *testing.T) {
	f := newFixture(t, customersSQL)
	registry := tablesecurity.NewRegistry(f.db.Pool, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- registry.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	f.put(t, "customers", api(map[string]any{"public_read": true, "ip_whitelist": []string{"10.0.0.0/8"},
		"rate_limit": map[string]any{"requests_per_minute": 1}}))
	require.Eventually(t, func() bool { return registry.Rule("public", "customers") != nil }, 10*time.Second, 10*time.Millisecond)
	rule := registry.Rule("public", "customers")
	assert.True(t, rule.AllowsIP(netip.MustParseAddr("10.9.8.7")))
	assert.False(t, rule.AllowsIP(netip.MustParseAddr("192.0.2.1")))
	first, err := registry.Allow(ctx, "public", "customers", "user:a")
	require.NoError(t, err)
	assert.True(t, first.Allowed)
	second, err := registry.Allow(ctx, "public", "customers", "user:a")
	require.NoError(t, err)
	assert.False(t, second.Allowed)

	// A dry run changes nothing, a DELETE removes the rule.
	_, err = f.svc.Delete(ctx, "public", "customers", tablesecurity.Change{DryRun: true, Audit: adminActor})
	require.NoError(t, err)
	_, err = f.svc.Delete(ctx, "public", "customers", tablesecurity.Change{Audit: adminActor})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return registry.Rule("public", "customers") == nil }, 10*time.Second, 10*time.Millisecond)
}
