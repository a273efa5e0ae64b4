package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// Admission is what one request may do when the service is mounted for callers other than
// the holders of the API's JWTs (Deps.Admit): Go Forward's admins at /admin/v1/rest/v1, who
// run as service_role but reach only the tables their capabilities allow, and whose every
// write is recorded.
type Admission struct {
	// Role and Claims are who the request runs as: one of the API roles, and what
	// request.jwt.claims holds (empty: {"role": Role}).
	Role   string
	Claims json.RawMessage
	// Relation reports whether the request may read or change a table, view, materialized
	// view or foreign table: the one it names, every relation it embeds, and the junction
	// tables of many-to-many embeds. nil allows every relation.
	Relation func(schema, name string) bool
	// NoFunctions refuses RPC and computed fields: a function runs with the request's role
	// and reaches whatever that role can, past Relation.
	NoFunctions bool
	// Write, when set, is told of every write: POST, PATCH, PUT and DELETE on a relation and
	// POST to a function. It is called once the statement has run and before its
	// transaction commits, and its error rolls the write back; so no write commits without
	// it. A write that fails (PostgreSQL refused it, a check of the result failed, or the
	// commit itself failed after Write had been told) is reported once more with Err set.
	Write func(ctx context.Context, w Write) error
	// Refused, when set, is told of a relation or function the request was refused for
	// (Relation or NoFunctions), before the 403 is sent.
	Refused func(schema, name string, function bool)
}

// Write describes one write for Admission.Write. It holds no values from the request body.
type Write struct {
	Method   string
	Schema   string
	Relation string // the table or view written, or the function called
	Function bool   // Relation is a function (POST /rpc/...)
	// Query is the request's query string: its filters, select and other parameters.
	Query string
	// Columns are the columns the write sets (columns= or the body's keys).
	Columns []string
	// Rows is how many rows the statement affected (for a function, returned).
	Rows int64
	// RolledBack is set for Prefer: tx=rollback, which undoes the write whatever happens.
	RolledBack bool
	// Err is set when the write did not happen: PostgreSQL's error, or the reason the
	// service refused the result.
	Err error
}

// NewError is an error in PostgREST's shape ({code, details, hint, message}), for an Admit
// function to refuse a request with.
func NewError(status int, code, message, hint string) *httpx.AppError {
	var h any
	if hint != "" {
		h = hint
	}
	return apiError(status, code, message, nil, h)
}

// caller is who a request runs as: the JWT the gateway verified or, when the service admits
// requests itself, what Admit decided.
func (s *Service) caller(r *http.Request) (security.Principal, *Admission, error) {
	if s.admit == nil {
		if err := security.AuthErrorFrom(r.Context()); err != nil {
			return security.Principal{}, nil, jwtError(err)
		}
		principal, _ := security.PrincipalFrom(r.Context())
		if principal.Role == "" {
			principal.Role = db.RoleAnon
		}
		return principal, nil, nil
	}
	a, err := s.admit(r)
	if err != nil {
		return security.Principal{}, nil, err
	}
	return security.Principal{Role: a.Role, Claims: a.Claims}, &a, nil
}

// allowsResource checks the relation (or function) a request names, before it is planned, so
// that a refused table is a 403 and not an error about its columns.
func (a *Admission) allowsResource(req *Request, defaultSchema string) error {
	if a == nil || req.Resource == "" {
		return nil
	}
	schema := req.Schema
	if schema == "" {
		schema = defaultSchema
	}
	if req.RPC {
		return a.allowsFunction(schema, req.Resource)
	}
	return a.allowsRelation(schema, req.Resource)
}

// allows checks everything a planned query reaches: its relation, the relations of its
// embeds and their junction tables, its function and its computed fields.
func (a *Admission) allows(q *Query) error {
	if a == nil {
		return nil
	}
	if q.function != nil {
		if err := a.allowsFunction(q.function.Schema, q.function.Name); err != nil {
			return err
		}
	}
	if q.table != nil {
		if err := a.allowsRelation(q.table.Schema, q.table.Name); err != nil {
			return err
		}
	}
	for _, n := range []*node{q.root, q.target} {
		if err := a.allowsNode(n); err != nil {
			return err
		}
	}
	return nil
}

func (a *Admission) allowsNode(n *node) error {
	if n == nil {
		return nil
	}
	if n.table != nil {
		if err := a.allowsRelation(n.table.Schema, n.table.Name); err != nil {
			return err
		}
	}
	if n.rel != nil && n.rel.Junction != nil {
		if err := a.allowsRelation(n.rel.Junction.Table.Schema, n.rel.Junction.Table.Name); err != nil {
			return err
		}
	}
	for _, f := range n.fields {
		if f.computed != nil {
			if err := a.allowsFunction(f.computed.Function.Schema, f.computed.Function.Name); err != nil {
				return err
			}
		}
	}
	for _, c := range n.where {
		if err := a.allowsCond(c); err != nil {
			return err
		}
	}
	for _, o := range n.order {
		if o.computed != nil {
			if err := a.allowsFunction(o.computed.Function.Schema, o.computed.Function.Name); err != nil {
				return err
			}
		}
	}
	for _, child := range n.children {
		if err := a.allowsNode(child); err != nil {
			return err
		}
	}
	return nil
}

func (a *Admission) allowsCond(c cond) error {
	if c.computed != nil {
		if err := a.allowsFunction(c.computed.Function.Schema, c.computed.Function.Name); err != nil {
			return err
		}
	}
	for _, child := range c.children {
		if err := a.allowsCond(child); err != nil {
			return err
		}
	}
	return nil
}

// allowsRelation answers as PostgreSQL would for a table the role holds no privilege on.
func (a *Admission) allowsRelation(schema, name string) error {
	if a.Relation == nil || a.Relation(schema, name) {
		return nil
	}
	if a.Refused != nil {
		a.Refused(schema, name, false)
	}
	return apiError(http.StatusForbidden, codeInsufficientPrivilege, fmt.Sprintf("permission denied for table %s", name), nil,
		fmt.Sprintf("%s.%s is not among the tables this admin may manage", schema, name))
}

func (a *Admission) allowsFunction(schema, name string) error {
	if !a.NoFunctions {
		return nil
	}
	if a.Refused != nil {
		a.Refused(schema, name, true)
	}
	return apiError(http.StatusForbidden, codeInsufficientPrivilege, fmt.Sprintf("permission denied for function %s", name), nil,
		fmt.Sprintf("functions (%s.%s) may reach any table, so only admins who manage every table may call them", schema, name))
}

// audits reports whether q is a write Admission.Write must be told of: anything but a read,
// and calls outside GET and HEAD (which run read-only).
func (a *Admission) audits(q *Query) bool {
	return a != nil && a.Write != nil && q.kind != kindRead && !(q.kind == kindCall && q.readOnly)
}

// write describes q's write for Admission.Write.
func (q *Query) write(r *http.Request, rows int64, err error) Write {
	w := Write{Method: r.Method, Schema: q.schema, Query: r.URL.RawQuery, Columns: q.columns, Rows: rows,
		RolledBack: q.prefer.Tx == "rollback", Err: err}
	switch {
	case q.function != nil:
		w.Relation, w.Function = q.function.Name, true
	case q.table != nil:
		w.Relation = q.table.Name
	}
	return w
}

// filterOpenAPI leaves out of the API description what the admission does not allow.
func (a *Admission) filterOpenAPI(visible *reach, schema string) {
	if a == nil {
		return
	}
	if a.Relation != nil {
		for name := range visible.relations {
			if !a.Relation(schema, name) {
				delete(visible.relations, name)
			}
		}
	}
	if a.NoFunctions {
		clear(visible.functions)
	}
}

// reportFailure tells Admission.Write of a write that failed, and returns err.
func (s *Service) reportFailure(r *http.Request, x *exchange, err error) error {
	if err == nil || !x.audited {
		return err
	}
	if werr := x.adm.Write(r.Context(), x.q.write(r, x.page, err)); werr != nil {
		s.logger.Error("rest: report a failed write", "error", werr)
	}
	return err
}
