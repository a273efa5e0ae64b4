package rest

import (
	"fmt"
	"net/http"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/meta"
	"github.com/goforward/goforward/internal/security"
)

// checkKeyScope refuses a request whose API key (security.Principal.Key) is limited to some
// tables when the planned query reaches any other: the target, every embedded table, the
// junction of a many-to-many embedding, the function of an RPC and the table its rows come
// from. The refusal is PostgreSQL's for a missing privilege (42501), so clients treat it as
// they would a revoked grant.
func checkKeyScope(p security.Principal, q *Query) error {
	if p.Key == nil || !p.Key.Scope.LimitsTables() {
		return nil
	}
	scope := p.Key.Scope
	if f := q.function; f != nil && !scope.AllowsTable(f.Schema, f.Name) {
		return keyScopeError(p, "function", f.QName)
	}
	if t := q.table; t != nil && !scope.AllowsTable(t.Schema, t.Name) {
		return keyScopeError(p, "table", t.QName)
	}
	for _, n := range []*node{q.root, q.target} {
		if err := checkNodeScope(p, n); err != nil {
			return err
		}
	}
	return nil
}

func checkNodeScope(p security.Principal, n *node) error {
	if n == nil {
		return nil
	}
	if n.table != nil && !p.Key.Scope.AllowsTable(n.table.Schema, n.table.Name) {
		return keyScopeError(p, "table", n.table.QName)
	}
	if n.rel != nil && n.rel.Junction != nil {
		if j := n.rel.Junction.Table; !p.Key.Scope.AllowsTable(j.Schema, j.Name) {
			return keyScopeError(p, "table", j)
		}
	}
	for _, child := range n.children {
		if err := checkNodeScope(p, child); err != nil {
			return err
		}
	}
	return nil
}

func keyScopeError(p security.Principal, kind string, name meta.QName) *httpx.AppError {
	return apiError(keyScopeStatus(p), codeInsufficientPrivilege, fmt.Sprintf("permission denied for %s %s", kind, name.Name), nil,
		fmt.Sprintf("The API key's scope does not include %s", name))
}

// keyScopeStatus is PostgREST's status for 42501: 401 for anon, 403 for everyone else.
func keyScopeStatus(p security.Principal) int {
	if p.Role == db.RoleAnon {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

// checkKeyScopeForOpenAPI refuses the schema description to a key limited to some tables: it
// would list every other table the role can see.
func checkKeyScopeForOpenAPI(p security.Principal) error {
	if p.Key == nil || !p.Key.Scope.LimitsTables() {
		return nil
	}
	return apiError(keyScopeStatus(p), codeInsufficientPrivilege, "permission denied for the schema description", nil,
		"The API key's scope is limited to some tables")
}
