package sqlguard_test

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/goforward/goforward/internal/sqlguard"
)

// commandWords are the words no read may contain as keywords.
var commandWords = map[pg_query.Token]string{
	pg_query.Token_DROP:     "DROP",
	pg_query.Token_TRUNCATE: "TRUNCATE",
	pg_query.Token_DELETE_P: "DELETE",
	pg_query.Token_UPDATE:   "UPDATE",
	pg_query.Token_INSERT:   "INSERT",
	pg_query.Token_ALTER:    "ALTER",
	pg_query.Token_GRANT:    "GRANT",
}

// keywordUse finds a command word that sql uses as a keyword. "Containing DELETE" cannot mean
// the letters (they may sit in a string, a dollar quote or a comment), nor even a DELETE token
// of PostgreSQL's scanner: most of these words are unreserved, and `select drop from delete`
// is a valid read of column drop of table delete. So a token counts when the grammar needs
// it as a keyword: put a plain identifier in its place, and if the statement no longer
// parses, the word was doing a keyword's job (FOR UPDATE, a writing CTE, EXPLAIN ANALYZE
// DELETE, ...). This test is independent of the classifier, which never looks at tokens.
func keywordUse(sql string) (string, bool) {
	scanned, err := pg_query.Scan(sql)
	if err != nil {
		return "", false
	}
	for _, tok := range scanned.GetTokens() {
		word, ok := commandWords[tok.GetToken()]
		if !ok {
			continue
		}
		renamed := sql[:tok.GetStart()] + " zz_renamed " + sql[tok.GetEnd():]
		if _, err := pg_query.Parse(renamed); err != nil {
			return word, true
		}
	}
	return "", false
}

func TestKeywordUse(t *testing.T) {
	for sql, want := range map[string]bool{
		"select drop from delete where update = 1":           false,
		"SELECT 1 AS grant, x.alter FROM t x":                false,
		"SELECT 'DELETE FROM t', $$DROP TABLE t$$ -- INSERT": false,
		"SELECT * FROM t FOR UPDATE":                         true,
		"WITH d AS (DELETE FROM t RETURNING *) SELECT 1":     true,
		"EXPLAIN ANALYZE DELETE FROM t":                      true,
	} {
		_, got := keywordUse(sql)
		if got != want {
			t.Errorf("keywordUse(%q) = %v, want %v", sql, got, want)
		}
	}
}

// FuzzAnalyze: Analyze, Format and Parse never panic, whatever the bytes; every statement is
// the text at its location; and no statement using DROP, TRUNCATE, DELETE, UPDATE, INSERT,
// ALTER or GRANT as a keyword is a read.
func FuzzAnalyze(f *testing.F) {
	for _, tc := range classificationTable {
		f.Add(tc.sql)
	}
	for _, tc := range formatCases {
		f.Add(tc.sql)
	}
	for _, s := range []string{
		"select drop from delete where update = 1",
		"SELECT * FROM t FOR NO KEY UPDATE OF t SKIP LOCKED",
		"WITH RECURSIVE r AS (SELECT 1 UNION SELECT 2) SELECT * FROM r",
		"DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t FOR UPDATE",
		"COPY (SELECT 1) TO STDOUT; SHOW ALL; TABLE t; VALUES (1)",
		"SELECT (SELECT x FROM y FOR SHARE) FROM z",
		"PREPARE p AS INSERT INTO t VALUES ($1); EXECUTE p(1)",
		"SELECT 1 \\gset",
		"select 'a' 'b', e'\\x41', U&'\\0041' UESCAPE '!'",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		_, _ = sqlguard.Format(sql)
		_, _ = sqlguard.Parse(sql)
		statements, err := sqlguard.Analyze(sql)
		if err != nil {
			if !sqlguard.IsParseError(err) {
				t.Fatalf("Analyze(%q): %v", sql, err)
			}
			return
		}
		for _, s := range statements {
			if s.Location < 0 || s.Location+len(s.SQL) > len(sql) || sql[s.Location:s.Location+len(s.SQL)] != s.SQL {
				t.Fatalf("statement %q is not at %d of %q", s.SQL, s.Location, sql)
			}
			if s.Kind != sqlguard.KindRead {
				continue
			}
			if word, ok := keywordUse(s.SQL); ok {
				t.Fatalf("%q is classified read but uses %s as a keyword", s.SQL, word)
			}
		}
	})
}
