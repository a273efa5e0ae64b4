package sqlguard

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// statementStarts are the tokens an SQL statement inside PL/pgSQL code can begin with.
// Those marked true change something: when such a statement cannot be parsed, the body is
// unchecked_code rather than assumed harmless.
var statementStarts = map[pg_query.Token]bool{
	pg_query.Token_SELECT: false, pg_query.Token_VALUES: false, pg_query.Token_WITH: true,
	pg_query.Token_TABLE: false, pg_query.Token_EXPLAIN: true,
	pg_query.Token_INSERT: true, pg_query.Token_UPDATE: true, pg_query.Token_DELETE_P: true,
	pg_query.Token_MERGE: true, pg_query.Token_DROP: true, pg_query.Token_TRUNCATE: true,
	pg_query.Token_ALTER: true, pg_query.Token_GRANT: true, pg_query.Token_REVOKE: true,
	pg_query.Token_CREATE: true, pg_query.Token_COPY: true, pg_query.Token_SET: true,
	pg_query.Token_RESET: true, pg_query.Token_DO: true, pg_query.Token_CALL: true,
	pg_query.Token_LOAD: true, pg_query.Token_DISCARD: true, pg_query.Token_LOCK_P: true,
	pg_query.Token_COMMENT: true, pg_query.Token_VACUUM: true, pg_query.Token_ANALYZE: true,
	pg_query.Token_ANALYSE: true, pg_query.Token_CLUSTER: true, pg_query.Token_REINDEX: true,
	pg_query.Token_REFRESH: true, pg_query.Token_NOTIFY: true, pg_query.Token_SECURITY: true,
	pg_query.Token_IMPORT_P: true, pg_query.Token_REASSIGN: true, pg_query.Token_CHECKPOINT: true,
	pg_query.Token_PREPARE: true,
}

// tokens reads code that no parser accepted, with PostgreSQL's scanner (so strings, dollar
// quotes and comments are told apart from code): every call of a dangerous function and every
// EXECUTE counts wherever it is, and each ;-separated piece is parsed from the first token
// that can start a statement. A changing statement that does not parse leaves the code
// unchecked_code.
func (c checker) tokens(v *verdict, code string) {
	result, err := pg_query.Scan(code)
	if err != nil {
		v.add(ClassUncheckedCode, "the code could not be read: "+err.Error())
		return
	}
	toks := result.GetTokens()
	for i, t := range toks {
		if t.GetToken() == pg_query.Token_EXECUTE {
			v.add(ClassDynamicSQL, "EXECUTE runs SQL built at run time, which cannot be checked here")
		}
		if i+1 < len(toks) && toks[i+1].GetToken() == pg_query.Token_ASCII_40 {
			name := identifier(code[t.GetStart():t.GetEnd()])
			c.call(v, funcCall{name: name})
		}
	}
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && toks[i].GetToken() != pg_query.Token_ASCII_59 {
			continue
		}
		c.piece(v, code, toks[start:i])
		start = i + 1
	}
}

// piece classifies one ;-separated piece of unparsed code.
func (c checker) piece(v *verdict, code string, toks []*pg_query.ScanToken) {
	if len(toks) == 0 {
		return
	}
	end := toks[len(toks)-1].GetEnd()
	for _, t := range toks {
		changes, starts := statementStarts[t.GetToken()]
		perform := t.GetToken() == pg_query.Token_IDENT && strings.EqualFold(code[t.GetStart():t.GetEnd()], "perform")
		if !starts && !perform {
			continue
		}
		sql := code[t.GetStart():end]
		if perform {
			sql = "SELECT " + code[t.GetEnd():end]
		}
		if _, err := pg_query.Parse(sql); err == nil {
			v.absorb(c.sqlText(sql), "")
			return
		}
		if changes {
			v.add(ClassUncheckedCode, "a statement of the code could not be parsed: "+abbreviate(sql))
		}
	}
}

// identifier is a name token as PostgreSQL reads it: folded to lower case unless quoted.
func identifier(token string) string {
	if len(token) >= 2 && token[0] == '"' && token[len(token)-1] == '"' {
		return strings.ReplaceAll(token[1:len(token)-1], `""`, `"`)
	}
	return strings.ToLower(token)
}

func abbreviate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		cut := 60
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return s[:cut] + "…"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
