package sqlguard

import (
	_ "embed"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// The keyword phrases Format lays out, in sql-formatter's notation ([a | b] is optional,
// {a | b} is one of): those of sql-formatter 14.0.0's PostgreSQL dialect, the version
// postgres-meta pins, quirks included (CREATE OR REPLACE is not a phrase, so OR starts a line).
// Where two phrases of the same length match, the earlier group wins.
var phraseGroups = []struct {
	kind    fkind
	phrases []string
}{
	{fClause, []string{
		"SELECT [ALL | DISTINCT]", "WITH [RECURSIVE]", "FROM", "WHERE", "GROUP BY [ALL | DISTINCT]",
		"HAVING", "WINDOW", "PARTITION BY", "ORDER BY", "LIMIT", "OFFSET", "FETCH {FIRST | NEXT}",
		"FOR {UPDATE | NO KEY UPDATE | SHARE | KEY SHARE} [OF]", "INSERT INTO", "VALUES", "SET",
		"CREATE [OR REPLACE] [TEMP | TEMPORARY] [RECURSIVE] VIEW", "CREATE MATERIALIZED VIEW [IF NOT EXISTS]",
		"CREATE [GLOBAL | LOCAL] [TEMPORARY | TEMP | UNLOGGED] TABLE [IF NOT EXISTS]", "RETURNING",
	}},
	{fOneline, []string{
		"UPDATE [ONLY]", "WHERE CURRENT OF", "ON CONFLICT", "DELETE FROM [ONLY]", "DROP TABLE [IF EXISTS]",
		"ALTER TABLE [IF EXISTS] [ONLY]", "ALTER TABLE ALL IN TABLESPACE", "RENAME [COLUMN]", "RENAME TO",
		"ADD [COLUMN] [IF NOT EXISTS]", "DROP [COLUMN] [IF EXISTS]", "ALTER [COLUMN]", "[SET DATA] TYPE",
		"{SET | DROP} DEFAULT", "{SET | DROP} NOT NULL", "TRUNCATE [TABLE] [ONLY]", "SET SCHEMA", "AFTER",
		"ABORT", "ALTER {AGGREGATE | COLLATION | CONVERSION | DATABASE | DEFAULT PRIVILEGES | DOMAIN}",
		"ALTER {EVENT TRIGGER | EXTENSION | FOREIGN DATA WRAPPER | FOREIGN TABLE | FUNCTION | GROUP}",
		"ALTER {INDEX | LANGUAGE | LARGE OBJECT | MATERIALIZED VIEW | OPERATOR [CLASS | FAMILY]}",
		"ALTER {POLICY | PROCEDURE | PUBLICATION | ROLE | ROUTINE | RULE | SCHEMA | SEQUENCE | SERVER}",
		"ALTER {STATISTICS | SUBSCRIPTION | SYSTEM | TABLESPACE | TRIGGER | TYPE | USER [MAPPING] | VIEW}",
		"ALTER TEXT SEARCH {CONFIGURATION | DICTIONARY | PARSER | TEMPLATE}",
		"ANALYZE", "BEGIN", "CALL", "CHECKPOINT", "CLOSE", "CLUSTER", "COMMIT [PREPARED]", "COPY",
		"CREATE {ACCESS METHOD | AGGREGATE | CAST | COLLATION | CONVERSION | DATABASE | DOMAIN}",
		"CREATE {EVENT TRIGGER | EXTENSION | FOREIGN DATA WRAPPER | FOREIGN TABLE | FUNCTION | GROUP}",
		"CREATE {INDEX | LANGUAGE | OPERATOR [CLASS | FAMILY] | POLICY | PROCEDURE | PUBLICATION | ROLE}",
		"CREATE {RULE | SCHEMA | SEQUENCE | SERVER | STATISTICS | SUBSCRIPTION | TABLESPACE}",
		"CREATE TEXT SEARCH {CONFIGURATION | DICTIONARY | PARSER | TEMPLATE}",
		"CREATE {TRANSFORM | TRIGGER | TYPE | USER [MAPPING]}",
		"DEALLOCATE", "DECLARE", "DISCARD",
		"DROP {ACCESS METHOD | AGGREGATE | CAST | COLLATION | CONVERSION | DATABASE | DOMAIN}",
		"DROP {EVENT TRIGGER | EXTENSION | FOREIGN DATA WRAPPER | FOREIGN TABLE | FUNCTION | GROUP}",
		"DROP {INDEX | LANGUAGE | MATERIALIZED VIEW | OPERATOR [CLASS | FAMILY] | OWNED | POLICY}",
		"DROP {PROCEDURE | PUBLICATION | ROLE | ROUTINE | RULE | SCHEMA | SEQUENCE | SERVER}",
		"DROP {STATISTICS | SUBSCRIPTION | TABLESPACE | TRANSFORM | TRIGGER | TYPE | USER [MAPPING] | VIEW}",
		"DROP TEXT SEARCH {CONFIGURATION | DICTIONARY | PARSER | TEMPLATE}",
		"EXECUTE", "EXPLAIN", "FETCH", "GRANT", "IMPORT FOREIGN SCHEMA", "LISTEN", "LOAD", "LOCK", "MOVE",
		"NOTIFY", "PREPARE [TRANSACTION]", "REASSIGN OWNED", "REFRESH MATERIALIZED VIEW", "REINDEX",
		"RELEASE SAVEPOINT", "RESET", "REVOKE", "ROLLBACK [PREPARED]", "ROLLBACK TO SAVEPOINT", "SAVEPOINT",
		"SECURITY LABEL", "SELECT INTO", "SET CONSTRAINTS", "SET ROLE", "SET SESSION AUTHORIZATION",
		"SET TRANSACTION", "SHOW", "START TRANSACTION", "UNLISTEN", "VACUUM",
	}},
	{fSetOperation, []string{"UNION [ALL | DISTINCT]", "EXCEPT [ALL | DISTINCT]", "INTERSECT [ALL | DISTINCT]"}},
	{fJoin, []string{
		"JOIN", "{LEFT | RIGHT | FULL} [OUTER] JOIN", "{INNER | CROSS} JOIN", "NATURAL [INNER] JOIN",
		"NATURAL {LEFT | RIGHT | FULL} [OUTER] JOIN",
	}},
	// Phrases that are plain words, so that their parts are not taken for clauses or AND.
	{fWord, []string{
		"ON {UPDATE | DELETE} [SET NULL | SET DEFAULT]", "{ROWS | RANGE | GROUPS} BETWEEN",
		"[TIMESTAMP | TIME] {WITH | WITHOUT} TIME ZONE", "IS [NOT] DISTINCT FROM",
	}},
}

// phrases maps each expanded phrase ("DELETE FROM ONLY") to its kind; longestPhrase is the
// most words any has.
var phrases, longestPhrase = buildPhrases()

func buildPhrases() (map[string]fkind, int) {
	out := map[string]fkind{}
	longest := 0
	for _, g := range phraseGroups {
		for _, p := range g.phrases {
			for _, words := range expandPhrase(p) {
				key := strings.Join(words, " ")
				if _, ok := out[key]; !ok {
					out[key] = g.kind
				}
				longest = max(longest, len(words))
			}
		}
	}
	return out, longest
}

// expandPhrase lists every word sequence a phrase in [..]/{..} notation stands for.
func expandPhrase(p string) [][]string {
	p = strings.TrimSpace(p)
	if p == "" {
		return [][]string{nil}
	}
	if p[0] == '[' || p[0] == '{' {
		end := matchingBracket(p)
		rest := expandPhrase(p[end+1:])
		var heads [][]string
		if p[0] == '[' {
			heads = append(heads, nil)
		}
		for _, alt := range splitAlternatives(p[1:end]) {
			heads = append(heads, expandPhrase(alt)...)
		}
		var out [][]string
		for _, h := range heads {
			for _, r := range rest {
				out = append(out, append(append([]string(nil), h...), r...))
			}
		}
		return out
	}
	word, rest, _ := strings.Cut(p, " ")
	if i := strings.IndexAny(word, "[{"); i > 0 {
		word, rest = word[:i], p[i:]
	}
	var out [][]string
	for _, r := range expandPhrase(rest) {
		out = append(out, append([]string{word}, r...))
	}
	return out
}

func matchingBracket(p string) int {
	depth := 0
	for i, c := range p {
		switch c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(p) - 1
}

func splitAlternatives(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// phraseAt returns how many tokens from i form the longest known phrase, 0 for none. Only
// keywords form phrases, and a keyword next to a dot is a name (t.from, schema.update).
func phraseAt(toks []ftok, i int) int {
	if !toks[i].keyword || nextToDot(toks, i) {
		return 0
	}
	var words []string
	best := 0
	for k := i; k < len(toks) && k-i < longestPhrase; k++ {
		if !toks[k].keyword || nextToDot(toks, k) {
			break
		}
		words = append(words, strings.ToUpper(toks[k].text))
		if _, ok := phrases[strings.Join(words, " ")]; ok {
			best = len(words)
		}
	}
	return best
}

func phraseKind(toks []ftok, i, n int) fkind {
	words := make([]string, n)
	for k := range n {
		words[k] = strings.ToUpper(toks[i+k].text)
	}
	return phrases[strings.Join(words, " ")]
}

func nextToDot(toks []ftok, i int) bool {
	return (i > 0 && toks[i-1].tok == pg_query.Token_ASCII_46) || (i+1 < len(toks) && toks[i+1].tok == pg_query.Token_ASCII_46)
}

// isName says whether a "[" after t subscripts it (arr[1], int[], ARRAY[1, 2]).
func isName(t ftok) bool {
	return t.tok == pg_query.Token_IDENT || t.tok == pg_query.Token_ARRAY || (t.keyword && !t.reserved)
}

// gluedNames are the names sql-formatter writes glued to their parenthesis (count(*),
// varchar(10)): PostgreSQL's built-in functions (sql/builtin_functions.sql says how the list
// was made); any other name keeps a space before it, as in sql-formatter: my_function (1).
var gluedNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(builtinFunctions) {
		m[n] = true
	}
	return m
}()

//go:embed builtin_functions.txt
var builtinFunctions string
