package sqlguard_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/sqlguard"
)

func TestExpressionIsOneValueWrittenBackByTheDeparser(t *testing.T) {
	a := &sqlguard.Analyzer{}
	ctx := context.Background()
	x, err := a.Expression(ctx, "exists(select 1 from public.members m where m.user_id = auth.uid()) and status <> 'draft'")
	require.NoError(t, err)
	assert.Equal(t, "EXISTS (SELECT 1 FROM public.members m WHERE m.user_id = auth.uid()) AND status <> 'draft'", x.SQL)
	assert.Equal(t, []sqlguard.Relation{{Schema: "public", Name: "members"}}, x.Relations)
	assert.Equal(t, sqlguard.KindRead, x.Statement.Kind)

	for _, bad := range []string{
		"",
		"true) WITH CHECK (true",
		"true FROM pg_authid",
		"1; DROP TABLE t",
		"a AS b",
		"1, 2",
		"true UNION SELECT false",
		"true WHERE false",
		"true\x00",
	} {
		_, err := a.Expression(ctx, bad)
		assert.True(t, sqlguard.IsParseError(err), "%q: %v", bad, err)
	}
}

func TestExpressionClassifiesWhatItCalls(t *testing.T) {
	x, err := (&sqlguard.Analyzer{}).Expression(context.Background(), "pg_read_file('/etc/passwd') IS NOT NULL")
	require.NoError(t, err)
	assert.Contains(t, x.Statement.Classes, sqlguard.ClassFileAccess)

	x, err = (&sqlguard.Analyzer{}).Expression(context.Background(), "id IN (WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d)")
	require.NoError(t, err)
	assert.Equal(t, sqlguard.KindWrite, x.Statement.Kind)
}
