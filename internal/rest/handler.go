package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/meta"
)

// serve handles every /rest/v1 request.
func (s *Service) serve(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	principal, adm, err := s.caller(r)
	if err != nil {
		return err
	}
	req, err := Parse(r)
	if err != nil {
		return err
	}
	schema, err := s.inspector.Ensure(ctx)
	if err != nil {
		return apiError(http.StatusServiceUnavailable, CodeNoSchemaCache,
			"Could not query the database for the schema cache. Retrying.", nil, nil).WithCause(err)
	}
	scope := db.RequestScope{
		Role:    principal.Role,
		Claims:  principal.Claims,
		Method:  r.Method,
		Path:    strings.TrimPrefix(r.URL.Path, Prefix),
		Headers: r.Header,
	}
	// Functions run with the requested schema first on their search_path, as in PostgREST.
	if req.Schema == "" {
		scope.SearchPath = s.searchPaths[s.cfg.Schemas[0]]
	} else {
		scope.SearchPath = s.searchPaths[req.Schema]
	}
	if req.Resource == "" && !req.RPC {
		if err := checkKeyScopeForOpenAPI(principal); err != nil {
			return err
		}
		return runError(s.serveOpenAPI(w, r, &req, schema, scope, adm), scope.Role)
	}
	if err := adm.allowsResource(&req, schema.Schemas[0]); err != nil {
		return err
	}
	if r.Method == http.MethodOptions {
		return s.serveOptions(w, &req, schema)
	}
	if req.Plan != nil && !s.planAllowed(schema, scope.Role) {
		// As if the plan media type did not exist, which is what PostgREST answers when
		// db-plan-enabled is off.
		return apiError(http.StatusNotAcceptable, CodeBadMediaType, "None of these media types are available: "+r.Header.Get("Accept"), nil, nil)
	}
	q, err := Plan(&req, schema, PlanOptions{MaxRows: int64(s.cfg.MaxRows), AggregatesEnabled: s.aggregatesEnabled(schema)})
	if err != nil {
		return err
	}
	if err := adm.allows(q); err != nil {
		return err
	}
	if err := checkKeyScope(principal, q); err != nil {
		return err
	}
	if err := s.checkMaskedUpsert(principal, q, scope.Role); err != nil {
		return err
	}
	s.applyOverlays(q, scope.Role)
	stmt := Build(q, BuildOptions{MaxRows: int64(s.cfg.MaxRows)})
	if req.Plan != nil {
		return runError(s.servePlan(w, r, scope, q, stmt, req.Plan), scope.Role)
	}
	x := &exchange{w: w, q: q, maxRows: int64(s.cfg.MaxRows), adm: adm}
	return runError(s.reportFailure(r, x, s.execute(r, scope, q, stmt, x)), scope.Role)
}

// runError turns the error of running SQL as role into the response PostgREST would give.
func runError(err error, role string) error {
	if err == nil {
		// Before appErr, whose address escapes: a successful request allocates nothing here.
		return nil
	}
	var appErr *httpx.AppError
	switch {
	case errors.As(err, &appErr):
		return err
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The request ended (the client went away) and its statement was cancelled: not a
		// database fault, and not a reason to report the database unreachable.
		return err
	case errors.Is(err, db.ErrRoleNotAllowed):
		return apiError(http.StatusUnauthorized, "22023", fmt.Sprintf("role \"%s\" does not exist", role), nil, nil).WithCause(err)
	}
	return databaseError(err, role != db.RoleAnon)
}

// exchange carries one request's result from the database to the client.
type exchange struct {
	w http.ResponseWriter
	q *Query
	// maxRows is the service's row cap (0: none), the threshold of count=estimated.
	maxRows int64

	planned  *int64
	total    *int64
	page     int64
	location []string
	// inserted is how many rows an upsert inserted rather than updated (nil otherwise).
	inserted *int64
	body     []byte // writes keep the body until the transaction has committed
	// settings are response.headers and response.status as the statement left them.
	settings responseSettings
	// adm is the request's admission when the service admits requests itself (Deps.Admit).
	adm *Admission
	// audited is set for a write Admission.Write must hear of.
	audited bool
}

// Pipeline is what the service sends for q after the role switch, and how that transaction
// runs: stmt, after its EXPLAIN when it has one and, for a write that commits on its own,
// followed by a guard that fails the transaction when the request left response.headers or
// response.status invalid (see settingsGuardSQL). Benchmarks send the same.
func Pipeline(q *Query, stmt Statement) ([]db.Statement, db.PipelineOptions) {
	stmts := make([]db.Statement, 0, 3)
	if stmt.Explain != nil {
		stmts = append(stmts, db.Statement{SQL: stmt.Explain.SQL, Args: stmt.Explain.Args, OneOff: true})
	}
	stmts = append(stmts, db.Statement{SQL: stmt.SQL, Args: stmt.Args})
	opts := db.PipelineOptions{Rollback: q.prefer.Tx == "rollback"}
	switch {
	case q.kind == kindRead:
		opts.ReadOnly = true
	case q.kind == kindCall:
		opts.ReadOnly = q.readOnly
		opts.Confirm = q.function.ReturnsSet && (q.media == MediaObject || q.strictMaxAffected())
	default:
		opts.Confirm = q.media == MediaObject || q.strictMaxAffected()
	}
	if !opts.ReadOnly && !opts.Confirm && !opts.Rollback {
		stmts = append(stmts, db.Statement{SQL: settingsGuardSQL})
	}
	return stmts, opts
}

func (s *Service) execute(r *http.Request, scope db.RequestScope, q *Query, stmt Statement, x *exchange) error {
	stmts, opts := Pipeline(q, stmt)
	if x.adm.audits(q) {
		// The transaction stays open until the write has been reported (Admission.Write).
		opts.Confirm = true
		x.audited = true
	}
	write := q.kind != kindRead && q.kind != kindCall
	main := 0 // the index of stmt's result: after the EXPLAIN's, before the guard's
	if stmt.Explain != nil {
		main = 1
	}
	answered, responded := false, false
	handle := func(i int, rows pgx.Rows) error {
		answered = true
		switch {
		case i < main:
			return x.readPlan(rows)
		case i > main:
			return nil
		}
		if !rows.Next() {
			return rows.Err()
		}
		var headers, status *string
		if err := rows.Scan(&x.total, &x.page, nil, &x.location, &headers, &status, &x.inserted); err != nil {
			return err
		}
		if err := x.check(); err != nil {
			return err
		}
		// Read here so that invalid settings fail the request before anything is sent.
		settings, err := parseResponseSettings(headers, status)
		if err != nil {
			return err
		}
		x.settings = settings
		if x.audited {
			if err := x.adm.Write(r.Context(), q.write(r, x.page, nil)); err != nil {
				return err
			}
		}
		body := rows.RawValues()[2]
		if write || opts.Confirm {
			x.body = append([]byte(nil), body...)
			return nil
		}
		// Reads are committed once their rows arrive: the body goes straight to the client.
		responded = true
		return x.respond(body)
	}
	runner := s.runner
	replica := s.replicaFor(r, q, x)
	if replica != nil {
		runner = replica
	}
	err := runner.RunInRole(r.Context(), scope, opts, stmts, handle)
	if replica != nil && err != nil && !responded && replicaUnusable(r.Context(), err, answered) {
		s.replicas.Failed(replica)
		err = s.runner.RunInRole(r.Context(), scope, opts, stmts, handle)
	}
	if err != nil {
		return err
	}
	if write || opts.Confirm {
		return x.respond(x.body)
	}
	return nil
}

// readPlan takes the row estimate out of EXPLAIN (FORMAT JSON).
func (x *exchange) readPlan(rows pgx.Rows) error {
	if !rows.Next() {
		return rows.Err()
	}
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	var raw []byte
	if err := rows.Scan(&raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &plan); err != nil || len(plan) == 0 {
		return fmt.Errorf("read EXPLAIN output: %w", err)
	}
	n := int64(plan[0].Plan.Rows)
	x.planned = &n
	return nil
}

// check applies the rules that turn a result into an error before anything is sent (and,
// for writes that must be undone, before the transaction commits).
func (x *exchange) check() error {
	q := x.q
	switch q.count {
	case "planned":
		x.total = x.planned
	case "estimated":
		// The exact count stops at max rows + 1; only beyond max rows does the planner's
		// estimate stand in for it, and never below the rows already counted.
		if x.planned != nil && x.total != nil && x.maxRows > 0 && *x.total > x.maxRows && *x.planned > *x.total {
			x.total = x.planned
		}
	}
	if q.kind != kindRead && q.kind != kindCall && q.count != "" {
		n := x.page
		x.total = &n
	}
	if q.media == MediaObject && (q.kind != kindCall || q.function.ReturnsSet) && x.page != 1 {
		return apiError(http.StatusNotAcceptable, CodeSingularity, "Cannot coerce the result to a single JSON object",
			fmt.Sprintf("The result contains %d rows", x.page), nil)
	}
	// A set-returning function's rows count as affected, as they would in PostgREST: a
	// function wrapping DELETE ... RETURNING is rolled back when it removes too many.
	if q.strictMaxAffected() && q.kind != kindRead && x.page > *q.prefer.MaxAffected {
		return apiError(http.StatusBadRequest, CodeMaxAffected, "Query result exceeds max-affected preference constraint",
			fmt.Sprintf("The query affects %d rows", x.page), nil)
	}
	if (q.kind == kindRead || q.kind == kindCall) && x.total != nil && q.offset > 0 && q.offset > *x.total {
		e := apiError(http.StatusRequestedRangeNotSatisfiable, CodeBadRange, "Requested range not satisfiable",
			fmt.Sprintf("An offset of %d was requested, but there are only %d rows.", q.offset, *x.total), nil)
		// PostgREST answers with the headers of the read, so the client still learns the total.
		e.Header = http.Header{"Content-Range": {contentRange(q.offset, 0, x.total)}}
		if applied := q.preferenceApplied(); applied != "" {
			e.Header.Set("Preference-Applied", applied)
		}
		return e
	}
	return nil
}

func (x *exchange) respond(body []byte) error {
	q, h := x.q, x.w.Header()
	if applied := q.preferenceApplied(); applied != "" {
		h.Set("Preference-Applied", applied)
	}
	status := http.StatusOK
	send := !q.head
	switch q.kind {
	case kindRead:
		h.Set("Content-Range", contentRange(q.offset, x.page, x.total))
		if x.total != nil && x.page < *x.total {
			status = http.StatusPartialContent
		}
	case kindCall:
		// PostgREST sends the range of every call, a function returning one value or row
		// counting as one row (0-0/1 with count=exact).
		h.Set("Content-Range", contentRange(q.offset, x.page, x.total))
		if x.total != nil && x.page < *x.total {
			status = http.StatusPartialContent
		}
		if q.function.ReturnsVoid() {
			status, send = http.StatusNoContent, false
		}
	case kindInsert:
		// An upsert that inserted nothing (every row updated an existing one) is 200.
		status = http.StatusCreated
		if q.resolution == "merge-duplicates" && !x.insertedAny() {
			status = http.StatusOK
		}
		h.Set("Content-Range", contentRange(0, 0, x.total))
		if len(x.location) > 0 {
			h.Set("Location", x.locationPath())
		}
		send = q.returning == "representation"
	case kindPut:
		// PostgREST sends no Content-Range for PUT: 201 when the row was created, 200 when
		// it replaced one, 204 without a representation.
		status, send = http.StatusNoContent, q.returning == "representation"
		if send {
			status = http.StatusOK
			if x.insertedAny() {
				status = http.StatusCreated
			}
		}
	case kindDelete:
		// PostgREST reports no row range for a DELETE, only the count when one was asked for.
		h.Set("Content-Range", contentRange(0, 0, x.total))
		send = q.returning == "representation"
		if !send {
			status = http.StatusNoContent
		}
	default:
		h.Set("Content-Range", contentRange(0, x.page, x.total))
		send = q.returning == "representation"
		if !send {
			status = http.StatusNoContent
		}
	}
	if x.settings.status != 0 {
		status = x.settings.status
		send = send && bodyAllowed(status)
	}
	if send || q.head {
		h.Set("Content-Type", contentType(q.media, q.stripNulls))
	}
	if send {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	x.settings.apply(h)
	x.w.WriteHeader(status)
	if !send {
		return nil
	}
	_, err := x.w.Write(body)
	return err
}

// insertedAny reports whether an upsert inserted at least one row.
func (x *exchange) insertedAny() bool { return x.inserted != nil && *x.inserted > 0 }

// strictMaxAffected reports whether the request capped the rows it may affect.
func (q *Query) strictMaxAffected() bool {
	return q.prefer.Handling == "strict" && q.prefer.MaxAffected != nil
}

// bodyAllowed reports whether HTTP lets a response of this status carry a body.
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

// contentType names the representation sent; with nulls=stripped the parameter is echoed the
// way PostgREST writes it.
func contentType(m MediaType, stripNulls bool) string {
	switch {
	case m == MediaObject && stripNulls:
		return "application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8"
	case m == MediaJSON && stripNulls:
		return "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8"
	}
	switch m {
	case MediaObject:
		return "application/vnd.pgrst.object+json; charset=utf-8"
	case MediaCSV:
		return "text/csv; charset=utf-8"
	case MediaGeoJSON:
		return "application/geo+json; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// locationPath is the Location of an inserted row: /table?pk=eq.value for each key column.
func (x *exchange) locationPath() string {
	q := x.q
	var params []string
	for i, k := range q.table.PrimaryKey {
		if i < len(x.location) {
			params = append(params, url.QueryEscape(k)+"="+url.QueryEscape("eq."+x.location[i]))
		}
	}
	return "/" + url.PathEscape(q.table.Name) + "?" + strings.Join(params, "&")
}

// serveOptions answers OPTIONS on a table or view with the methods it supports.
func (s *Service) serveOptions(w http.ResponseWriter, req *Request, schema *meta.Schema) error {
	p := &planner{s: schema, req: req, used: map[string]bool{}}
	if err := p.resolveSchema(); err != nil {
		return err
	}
	allow := "OPTIONS,GET,HEAD"
	if req.RPC {
		if len(schema.Functions(p.schema, req.Resource)) == 0 {
			return p.noFunction(req.Resource, nil, nil)
		}
		allow = "OPTIONS,GET,HEAD,POST"
	} else {
		t := schema.Table(p.schema, req.Resource)
		if t == nil {
			return p.tableNotFound(req.Resource)
		}
		if t.Insertable {
			allow += ",POST"
		}
		if t.Insertable && t.Updatable && len(t.PrimaryKey) > 0 {
			allow += ",PUT"
		}
		if t.Updatable {
			allow += ",PATCH"
		}
		if t.Deletable {
			allow += ",DELETE"
		}
	}
	w.Header().Set("Allow", allow)
	w.WriteHeader(http.StatusOK)
	return nil
}
