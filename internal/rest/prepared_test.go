package rest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Requests run as prepared statements. PostgreSQL re-plans them after DDL but keeps the
// parameter types it inferred when preparing, so a reload of the schema cache must drop them:
// after value became text, an old statement would still read the filter value as an integer.
func TestSchemaReloadDropsPreparedStatements(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `INSERT INTO counters (name, value) VALUES ('one', 1), ('two', 2);`)
	// Enough requests to prepare the statement on every connection of the request pool.
	for range 20 {
		r := e.do(t, call{path: "/counters?select=name&value=eq.1"})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, jsonText(t, `[{"name":"one"}]`), jsonOf(t, r))
	}
	_, err := e.DB.Pool.Exec(context.Background(),
		`ALTER TABLE counters ALTER COLUMN value DROP DEFAULT, ALTER COLUMN value TYPE text USING 'v' || value`)
	require.NoError(t, err)
	require.NoError(t, e.svc.ReloadSchema(context.Background()))
	for range 20 {
		r := e.do(t, call{path: "/counters?select=name&value=eq.v2"})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, jsonText(t, `[{"name":"two"}]`), jsonOf(t, r))
	}
}
