package sqlguard

import (
	"encoding/json"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Parse returns PostgreSQL's parse tree of sql as JSON, for POST /pg/query/parse. It is
// libpg_query's JSON, which is also what postgres-meta answers there (its pgsql-parser wraps
// the same library): {"version":170007,"stmts":[{"stmt":{"SelectStmt":{...}},"stmt_len":8}]}.
// SQL that does not parse gives a *ParseError.
func Parse(sql string) (json.RawMessage, error) {
	if err := checkInput(sql); err != nil {
		return nil, err
	}
	out, err := pg_query.ParseToJSON(sql)
	if err != nil {
		return nil, parseError(err)
	}
	return json.RawMessage(out), nil
}
