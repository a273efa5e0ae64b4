package tablesecurity_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOwnershipLimitsSignedInUsersToTheirRowsAndShutsAnonOut(t *testing.T) {
	f := newFixture(t, customersSQL)
	f.put(t, "customers", map[string]any{"api_config": map[string]any{
		"require_auth": true, "require_ownership": true, "ownership_column": "owner_id",
	}})

	assert.Equal(t, []string{"Ann"}, names(f.mustQuery(t, annCaller, "select name from public.customers order by id")))
	assert.Equal(t, []string{"Bob"}, names(f.mustQuery(t, bobCaller, "select name from public.customers order by id")))
	_, err := f.query(t, anonCaller, "select name from public.customers")
	require.ErrorContains(t, err, "permission denied")

	// Writes: only as the owner.
	require.NoError(t, f.exec(t, annCaller, "insert into public.customers (name) values ('Ann 2')"))
	require.ErrorContains(t, f.exec(t, annCaller, "insert into public.customers (owner_id, name) values ($1, 'forged')", bob), "row-level security")
	require.NoError(t, f.exec(t, annCaller, "update public.customers set name = 'Bobby' where owner_id = $1", bob))
	assert.Equal(t, "Bob", f.owner(t, "select name from public.customers where id = 2")[0]["name"])
}
