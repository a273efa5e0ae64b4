package rest

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/meta"
)

// TestQuoteIdentMatchesSanitize: the shortcut for plain names quotes exactly as pgx does,
// and names with quotes or NUL still go through Sanitize.
func TestQuoteIdentMatchesSanitize(t *testing.T) {
	for _, s := range []string{"", "id", "Mixed Case", `we"ird`, "nul\x00byte", `""`, "é日本", "a.b", "semi;colon"} {
		if got, want := quoteIdent(s), (pgx.Identifier{s}).Sanitize(); got != want {
			t.Errorf("quoteIdent(%q) = %s, want %s", s, got, want)
		}
		q := meta.QName{Schema: "public" + s, Name: s + "x"}
		if got, want := quoteQualified(q), (pgx.Identifier{q.Schema, q.Name}).Sanitize(); got != want {
			t.Errorf("quoteQualified(%v) = %s, want %s", q, got, want)
		}
	}
}
