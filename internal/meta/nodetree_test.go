package meta

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestViewColumnOrigins(t *testing.T) {
	t.Parallel()
	// Shaped like PostgreSQL 15's output for
	// CREATE VIEW v AS SELECT b.id, b."ti tle" AS ":resno", 1 AS one FROM books b: a quoted
	// name with escapes, a column named like a field, a constant with a multi-token value,
	// a junk entry and a subquery whose own target list must not be read.
	def := `({QUERY :commandType 1 :utilityStmt <> :rtable ({RANGETBLENTRY :eref {ALIAS :aliasname b :colnames ("id" "ti\ tle")} :rtekind 1
		:subquery {QUERY :targetList ({TARGETENTRY :expr {VAR :varno 1} :resno 1 :resname x :resorigtbl 999 :resorigcol 9 :resjunk false})}})
		:targetList (
		{TARGETENTRY :expr {VAR :varno 3 :varattno 1 :location 24} :resno 1 :resname id :ressortgroupref 0 :resorigtbl 16384 :resorigcol 1 :resjunk false}
		{TARGETENTRY :expr {VAR :varno 3 :varattno 2} :resno 2 :resname :resno :ressortgroupref 0 :resorigtbl 16384 :resorigcol 2 :resjunk false}
		{TARGETENTRY :expr {CONST :consttype 23 :constvalue 4 [ 1 0 0 0 0 0 0 0 ]} :resno 3 :resname one :ressortgroupref 0 :resorigtbl 0 :resorigcol 0 :resjunk false}
		{TARGETENTRY :expr {VAR :varno 3 :varattno 3} :resno 4 :resname \{x\)\  :ressortgroupref 1 :resorigtbl 16384 :resorigcol 3 :resjunk true})
		:override 0 :onConflict <>})`
	origins, err := viewColumnOrigins(def)
	require.NoError(t, err)
	require.Equal(t, map[int16]columnOrigin{1: {rel: 16384, att: 1}, 2: {rel: 16384, att: 2}}, origins)

	for _, bad := range []string{``, `({QUERY :targetList (`, `({QUERY}) extra`, `({RANGETBLENTRY})`, `(}`} {
		_, err := viewColumnOrigins(bad)
		require.Error(t, err, "%q", bad)
	}
	origins, err = viewColumnOrigins(`({QUERY :targetList <>})`)
	require.NoError(t, err)
	require.Empty(t, origins)
}
