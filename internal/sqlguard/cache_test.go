package sqlguard

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type volatileCatalog struct{}

func (volatileCatalog) Volatility(context.Context, string, string) (Volatility, error) {
	return Volatile, nil
}

func TestCachedResultsAreNotShared(t *testing.T) {
	sql := "select cache_probe_fn()"
	withCatalog, err := (&Analyzer{Catalog: volatileCatalog{}}).Analyze(t.Context(), sql)
	require.NoError(t, err)
	require.Len(t, withCatalog, 1)
	assert.Equal(t, KindWrite, withCatalog[0].Kind)
	assert.NotEmpty(t, withCatalog[0].Warnings)
	withCatalog[0].Warnings[0] = "changed by the caller"

	plain, err := Analyze(sql)
	require.NoError(t, err)
	require.Len(t, plain, 1)
	assert.Equal(t, KindRead, plain[0].Kind, "the catalog's verdict must not stick to the cached result")
	assert.Empty(t, plain[0].Warnings)
	assert.Empty(t, plain[0].Classes)

	first, err := Analyze("DELETE FROM t")
	require.NoError(t, err)
	first[0].Classes[0] = ClassDrop
	first[0].Warnings[0] = "changed by the caller"
	again, err := Analyze("DELETE FROM t")
	require.NoError(t, err)
	assert.Equal(t, []Class{ClassDeleteWithoutWhere}, again[0].Classes)
	assert.Equal(t, "DELETE without a WHERE clause removes every row of t", again[0].Warnings[0])
}

func TestLRUKeepsTheMostRecent(t *testing.T) {
	c := newLRU(2)
	c.put("a", []part{{statement: Statement{SQL: "a"}}})
	c.put("b", nil)
	_, ok := c.get("a") // a is now the most recent
	require.True(t, ok)
	c.put("c", nil) // evicts b
	_, ok = c.get("b")
	assert.False(t, ok)
	parts, ok := c.get("a")
	assert.True(t, ok)
	assert.Equal(t, "a", parts[0].statement.SQL)
	_, ok = c.get("c")
	assert.True(t, ok)
	assert.Equal(t, 2, c.order.Len())
}
