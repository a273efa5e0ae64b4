package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/security"
)

func TestBannerShowsSecretsOnlyInDevelopment(t *testing.T) {
	t.Parallel()
	dir, err := datadir.New(t.TempDir())
	require.NoError(t, err)
	rt := datadir.Runtime{
		APIURL:         "http://127.0.0.1:8080",
		DBURL:          "postgres://postgres:cluster-password-123@127.0.0.1:5433/postgres",
		ManagedCluster: true,
		AnonKey:        "anon-key-value",
		ServiceRoleKey: "service-role-key-value",
	}
	var dev strings.Builder
	printBanner(&dev, rt, dir, bannerInfo{environment: "development", secrets: true})
	require.Contains(t, dev.String(), "service-role-key-value")
	require.Contains(t, dev.String(), "cluster-password-123", "development prints the managed cluster's URL whole, as supabase start does")

	for _, env := range []string{"staging", "production"} {
		var out strings.Builder
		printBanner(&out, rt, dir, bannerInfo{environment: env, secrets: false})
		require.NotContains(t, out.String(), "service-role-key-value", env)
		require.NotContains(t, out.String(), "cluster-password-123", env)
		require.Contains(t, out.String(), "anon-key-value", "the anon key is public: apps ship it")
		require.Contains(t, out.String(), `goforward status --data-dir `+dir.Root(), "the banner says where the keys are")
		require.Contains(t, out.String(), "postgres://postgres:redacted@127.0.0.1:5433/postgres")
	}

	var warned strings.Builder
	printBanner(&warned, rt, dir, bannerInfo{environment: "development", secrets: true, warnings: []string{ownerRequestsWarning}})
	require.Contains(t, warned.String(), "\nWARNING: database.authenticator_password is not set")
}

// TestLegacyKeysDisabledNotPrinted: with auth.legacy_keys false, neither the banner nor
// `goforward status` prints the anon and service-role keys, which every node would refuse.
func TestLegacyKeysDisabledNotPrinted(t *testing.T) {
	t.Parallel()
	dir, err := datadir.New(t.TempDir())
	require.NoError(t, err)
	secret := []byte("a-jwt-secret-of-at-least-thirty-two-characters")
	for _, disabled := range []bool{false, true} {
		var opts []security.Option
		if disabled {
			opts = append(opts, security.WithoutLegacyKeys())
		}
		keys, err := security.NewKeys(secret, "goforward", time.Unix(1700000000, 0), opts...)
		require.NoError(t, err)
		rt := datadir.Runtime{APIURL: "http://127.0.0.1:8080", DBURL: "postgres://postgres@127.0.0.1:5433/postgres"}
		rt.AnonKey, rt.ServiceRoleKey = legacyKeys(keys)

		var banner, status strings.Builder
		printBanner(&banner, rt, dir, bannerInfo{environment: "development", secrets: true})
		printStatusTable(&status, statusReport{APIURL: rt.APIURL, AnonKey: rt.AnonKey, ServiceRoleKey: rt.ServiceRoleKey, JWTSecret: string(secret)})
		for name, out := range map[string]string{"banner": banner.String(), "status": status.String()} {
			if disabled {
				assert.NotContains(t, out, keys.AnonKey(), name)
				assert.NotContains(t, out, keys.ServiceRoleKey(), name)
				assert.Contains(t, out, "disabled (auth.legacy_keys: false", name)
			} else {
				assert.Contains(t, out, keys.AnonKey(), name)
				assert.Contains(t, out, keys.ServiceRoleKey(), name)
			}
		}
	}
}
