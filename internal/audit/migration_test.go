package audit_test

import (
	"context"
	"io/fs"
	"log/slog"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/migrations"
)

// TestMigrationFoldsAuthSecurityEventsIntoTheLog: an installation upgraded to migration 0009
// keeps the security events auth wrote before, as audit entries shaped like the ones auth
// writes now, and they seal and verify like any other.
func TestMigrationFoldsAuthSecurityEventsIntoTheLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewEmptyDatabase(t)
	logger := slog.New(slog.DiscardHandler)
	before := fstest.MapFS{}
	names, err := fs.Glob(migrations.FS, "*.sql")
	require.NoError(t, err)
	for _, name := range names {
		if name < "0009" {
			data, err := fs.ReadFile(migrations.FS, name)
			require.NoError(t, err)
			before[name] = &fstest.MapFile{Data: data}
		}
	}
	_, err = db.Migrate(ctx, database.Pool, before, logger)
	require.NoError(t, err)
	const uid = "4f1b2c3d-1111-4222-8333-944455556666"
	_, err = database.Pool.Exec(ctx, `INSERT INTO auth.security_events (user_id, type, severity, ip, user_agent, details, created_at) VALUES
  ($1, 'sign_in', 'info', '192.0.2.1', 'ua', '{"method":"password"}', now() - interval '3 minutes'),
  ($1, 'sign_in_failed', 'info', '192.0.2.2', 'ua', '{"identifier_hash":"abc"}', now() - interval '2 minutes'),
  (NULL, 'suspicious_activity', 'critical', '192.0.2.2', NULL, '{"accounts":10}', now() - interval '1 minute'),
  ($1, 'password_changed', 'info', NULL, 'ua', '{"by":"admin"}', now())`, uid)
	require.NoError(t, err)

	_, err = db.Migrate(ctx, database.Pool, migrations.FS, logger)
	require.NoError(t, err)
	page, err := audit.List(ctx, database.Pool, audit.Filter{Action: "auth.*"}, "", 10, true)
	require.NoError(t, err)
	type shape struct{ Action, ActorType, ActorID, ResourceType, ResourceID, Outcome, Severity, IP string }
	var got []shape
	for _, r := range page.Entries {
		got = append(got, shape{r.Action, r.ActorType, r.ActorID, r.ResourceType, r.ResourceID, r.Outcome, r.Severity, r.IP})
	}
	require.Equal(t, []shape{
		{"auth.sign_in", "user", uid, "user", uid, "success", "info", "192.0.2.1"},
		{"auth.sign_in_failed", "anon", "", "user", uid, "denied", "info", "192.0.2.2"},
		{"auth.suspicious_activity", "system", "", "ip", "192.0.2.2", "success", "critical", "192.0.2.2"},
		{"auth.password_changed", "service_role", "", "user", uid, "success", "info", ""},
	}, got)
	var gone bool
	require.NoError(t, database.Pool.QueryRow(ctx, `SELECT to_regclass('auth.security_events') IS NULL`).Scan(&gone))
	require.True(t, gone)

	e := &env{t: t, pool: database.Pool, dir: audit.Dir(t.TempDir())}
	require.Equal(t, 4, e.seal())
	require.True(t, e.verify().OK)
}
