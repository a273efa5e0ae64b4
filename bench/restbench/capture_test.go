package restbench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMatchLoggedFindsAStatementTheServicePrepared reads PostgreSQL's real log of a point read
// whose statement the service prepares with SQL's PREPARE: the preparation is not an
// execution, and the execution under the statement's name is the built statement, right after
// the settings.
func TestMatchLoggedFindsAStatementTheServicePrepared(t *testing.T) {
	t.Parallel()
	const query = `SELECT NULL::int8 AS total, count("_pgrst_t")::int8 AS page, coalesce(json_agg("_pgrst_t"), '[]')::text AS body, NULL::text[] AS location FROM (SELECT "t0".* FROM "public"."bench_posts" AS "t0" WHERE "t0"."id" = $1 LIMIT $2) AS "_pgrst_t"`
	logged := `2026-11-26 03:05:54.245 UTC [24377] LOG:  parameter "log_statement" changed to "all"
@@bench 24377 @@ LOG:  parameter "log_line_prefix" changed to "@@bench %p %u@@ "
@@bench 24388 authenticator@@ LOG:  statement: -- ping
@@bench 24388 authenticator@@ LOG:  execute goforward_apply_settings_ro: SELECT
		set_config('role', $1, true),
		set_config('transaction_read_only', 'on', true)
@@bench 24388 authenticator@@ DETAIL:  parameters: $1 = 'anon'
@@bench 24388 authenticator@@ LOG:  execute <unnamed>: PREPARE goforward_q2 AS ` + query + `
@@bench 24388 authenticator@@ LOG:  execute goforward_q2: PREPARE goforward_q2 AS ` + query + `
@@bench 24388 authenticator@@ DETAIL:  parameters: $1 = '461', $2 = '1000'
@@bench 24399 postgres@@ LOG:  statement: ALTER SYSTEM RESET log_statement
2026-11-26 03:05:54.760 UTC [24377] LOG:  parameter "log_statement" removed from configuration file, reset to default
`
	path := filepath.Join(t.TempDir(), "postgres.log")
	require.NoError(t, os.WriteFile(path, []byte("earlier lines\n"+logged), 0o600))

	statements, err := readLoggedStatements(path, int64(len("earlier lines\n")))
	require.NoError(t, err)
	c := matchLogged(statements, "pk", []string{query})
	require.True(t, c.Match, "logged %q", c.Logged)
	require.Equal(t, []string{"SELECT\n\tset_config('role', $1, true),\n\tset_config('transaction_read_only', 'on', true)", query}, c.Logged)
}
