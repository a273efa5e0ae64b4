package pgmeta_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// TestCatalogQueriesAreNotPrepared: the catalog queries must be planned for their arguments
// on every run. Kept as prepared statements, PostgreSQL moves them to a generic plan after
// five runs, which on 500 tables took GET /pg/tables past its 30 second timeout.
func TestCatalogQueriesAreNotPrepared(t *testing.T) {
	t.Parallel()
	h := newFixture(t)
	for range 8 {
		var tables []object
		h.getJSON(t, "/pg/tables?included_schemas=public", &tables)
		require.Len(t, tables, 5)
	}
	// Look at every connection of the service's pool (the harness gives it the database's
	// own pool of four), holding them all at once so each is a different one.
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range h.DB.Pool.Config().MaxConns {
		c, err := h.DB.Pool.Acquire(t.Context())
		require.NoError(t, err)
		conns = append(conns, c)
		var prepared int
		require.NoError(t, c.QueryRow(t.Context(),
			`SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%pg_total_relation_size%' AND statement NOT LIKE '%pg_prepared_statements%'`).Scan(&prepared))
		require.Zero(t, prepared, "a catalog query is kept as a prepared statement")
	}
}
