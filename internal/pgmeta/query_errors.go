package pgmeta

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/sqlguard"
)

// Error codes of the SQL runner's refusals, sent in "code" beside postgres-meta's "error".
const (
	codeQueryNotFound        = "query_not_found"
	codeConfirmationRequired = "confirmation_required"
	codeReadOnlyTransaction  = "transaction_control_in_read_only"
	codeClientCopy           = "copy_needs_client_protocol"
	codeParameters           = "bad_parameters"
	codeQueryTimeout         = "query_timeout"
)

// queryError is postgres-meta's answer to SQL PostgreSQL refused: its "error" is psql's
// rendering of the error (formattedError: "ERROR:  42P01: table \"t\" does not exist\n" and,
// with a position, the line and a caret), followed by the fields of node-postgres's error
// that are set. shift is how many characters the runner put before the caller's SQL, taken
// off the position so that it points into what the caller sent.
func queryError(e *pgconn.PgError, sql string, shift int) *httpx.AppError {
	position := int(e.Position)
	if position > shift {
		position -= shift
	}
	formatted := formatPgError(e, sql, position)
	out := httpx.NewError(http.StatusBadRequest, codeDatabase, formatted).WithCause(e)
	d := map[string]any{
		"name": "error", "severity": e.Severity, "code": e.Code, "message": e.Message,
		"formattedError": formatted,
	}
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	set("detail", e.Detail)
	set("hint", e.Hint)
	if position > 0 {
		d["position"] = strconv.Itoa(position)
	}
	if e.InternalPosition > 0 {
		d["internalPosition"] = strconv.Itoa(int(e.InternalPosition))
	}
	set("internalQuery", e.InternalQuery)
	set("where", e.Where)
	set("schema", e.SchemaName)
	set("table", e.TableName)
	set("column", e.ColumnName)
	set("dataType", e.DataTypeName)
	set("constraint", e.ConstraintName)
	set("file", e.File)
	if e.Line > 0 {
		d["line"] = strconv.Itoa(int(e.Line))
	}
	set("routine", e.Routine)
	out.Details = d
	return out
}

// formatPgError writes an error as psql (and postgres-meta) does:
//
//	ERROR:  42601: syntax error at or near "form"
//	LINE 1: select * form t
//	                 ^
func formatPgError(e *pgconn.PgError, sql string, position int) string {
	var b strings.Builder
	if e.Severity != "" {
		b.WriteString(e.Severity + ":  ")
	}
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message + "\n")
	if position > 0 {
		number, line, offset := lineAt(sql, position-1)
		fmt.Fprintf(&b, "LINE %d: %s\n%s^\n", number, line, strings.Repeat(" ", 5+len(strconv.Itoa(number))+2+offset))
	}
	for _, part := range []struct{ label, text string }{
		{"DETAIL", e.Detail}, {"HINT", e.Hint}, {"QUERY", e.InternalQuery}, {"CONTEXT", e.Where},
	} {
		if part.text != "" {
			b.WriteString(part.label + ":  " + part.text + "\n")
		}
	}
	return b.String()
}

// lineAt finds the 1-based line holding the character at index pos (0-based, in characters
// as PostgreSQL counts them), the line's text and the character's offset in it.
func lineAt(sql string, pos int) (number int, line string, offset int) {
	seen := 0
	for i, l := range strings.Split(sql, "\n") {
		n := utf8.RuneCountInString(l)
		if seen+n > pos {
			return i + 1, l, pos - seen
		}
		seen += n + 1
	}
	return 0, "", 0
}

// parseFailure is SQL the parser refused, answered as PostgreSQL would have refused it.
func parseFailure(err *sqlguard.ParseError, sql string) *httpx.AppError {
	return queryError(&pgconn.PgError{Severity: "ERROR", Code: "42601", Message: err.Message, Position: int32(err.Position)}, sql, 0)
}

// refusal is a request the runner does not run: postgres-meta's {"error"} with a code and
// whatever else explains it.
func refusal(status int, code, msg string, details map[string]any) *httpx.AppError {
	e := httpx.NewError(status, code, msg)
	if details == nil {
		details = map[string]any{}
	}
	details["code"] = code
	e.Details = details
	return e
}
