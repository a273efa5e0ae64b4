package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
)

// The audit log over HTTP: GET /audit (a page), GET /audit/export (everything, streamed) and
// GET /audit/verify (the chain). Admins without can_view_all_logs (regular admins and
// moderators) see the basic logs only: their own actions and content moderation.

// auditParams are the query parameters the audit routes understand; any other is refused, so
// that a misspelt filter is an error rather than the whole log.
var auditParams = map[string]bool{
	"actor": true, "actor_type": true, "action": true, "resource_type": true, "resource_id": true,
	"outcome": true, "severity": true, "from": true, "to": true, "limit": true, "cursor": true, "order": true,
	"format": true,
}

// defaultAuditPage is GET /audit's page size without limit.
const defaultAuditPage = 100

// auditFilter reads the filters of r and narrows them to what p may see.
func auditFilter(r *http.Request, p access.Principal) (audit.Filter, error) {
	q := r.URL.Query()
	for name := range q {
		if !auditParams[name] {
			return audit.Filter{}, badRequest(CodeValidationFailed, "Unknown query parameter %q", name)
		}
	}
	f := audit.Filter{
		Actor: q.Get("actor"), ActorType: q.Get("actor_type"), Action: q.Get("action"),
		ResourceType: q.Get("resource_type"), ResourceID: q.Get("resource_id"),
		Outcome: q.Get("outcome"), Severity: q.Get("severity"),
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return audit.Filter{}, badRequest(CodeValidationFailed, "%s must be a time in RFC 3339 form, e.g. 2026-01-02T15:04:05Z", name)
			}
			*dst = t
		}
	}
	switch {
	case p.Has(access.CanViewAllLogs):
	case p.Has(access.CanViewBasicLogs) && p.UserID != "":
		f.BasicFor = p.UserID
	default:
		return audit.Filter{}, forbidden(CodeInsufficientCapability, "Reading the audit log needs the %s capability", access.CanViewBasicLogs)
	}
	if err := f.Validate(); err != nil {
		return audit.Filter{}, auditInputError(err)
	}
	return f, nil
}

// auditInputError turns a filter or cursor error into a 400; anything else is a 500.
func auditInputError(err error) error {
	if fe := (*audit.FilterError)(nil); errors.As(err, &fe) {
		return badRequest(CodeValidationFailed, "%s", fe.Msg)
	}
	return internalError(err)
}

// auditList serves GET /audit: a page of entries, newest first (order=asc for oldest first),
// with next_cursor to continue.
func (s *Service) auditList(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	f, err := auditFilter(r, p)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := defaultAuditPage
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > audit.MaxPageSize {
			return badRequest(CodeValidationFailed, "limit must be a number from 1 to %d", audit.MaxPageSize)
		}
	}
	ascending := false
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		ascending = true
	default:
		return badRequest(CodeValidationFailed, "order must be asc or desc")
	}
	page, err := audit.List(r.Context(), s.pool, f, q.Get("cursor"), limit, ascending)
	if err != nil {
		return auditInputError(err)
	}
	return writeJSON(w, http.StatusOK, page)
}

// exportStall is how long an export waits for a client that stopped reading before giving up;
// the deadline moves on with every chunk, so a large export is never cut short.
const exportStall = time.Minute

// auditExport serves GET /audit/export?format=ndjson|csv: every entry the filters select,
// oldest first, streamed a chunk at a time. The export is itself audited.
func (s *Service) auditExport(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	f, err := auditFilter(r, p)
	if err != nil {
		return err
	}
	if r.URL.Query().Has("limit") || r.URL.Query().Has("cursor") || r.URL.Query().Has("order") {
		return badRequest(CodeValidationFailed, "An export holds every matching entry, oldest first: limit, cursor and order do not apply")
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = audit.FormatNDJSON
	}
	if format != audit.FormatNDJSON && format != audit.FormatCSV {
		return badRequest(CodeValidationFailed, "format must be ndjson or csv")
	}
	e := entry(r, p, "audit.exported")
	e.ResourceType = "audit_log"
	e.Details = map[string]any{"format": format, "filter": r.URL.Query().Encode()}
	if err := audit.Record(r.Context(), s.pool, e); err != nil {
		return internalError(err)
	}

	h := w.Header()
	h.Set("Content-Type", audit.ContentType(format))
	h.Set("Content-Disposition", `attachment; filename="goforward-audit-`+s.now().UTC().Format("20060102T150405Z")+"."+format+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(exportStall))
	_, err = audit.Export(r.Context(), s.pool, f, format, w, func() error {
		if err := rc.Flush(); err != nil {
			return err
		}
		_ = rc.SetWriteDeadline(time.Now().Add(exportStall))
		return nil
	})
	if err != nil {
		// The status is sent: cut the connection so the client sees a broken transfer rather
		// than a file that looks complete.
		if r.Context().Err() == nil && !errors.Is(err, context.Canceled) {
			s.logger.ErrorContext(r.Context(), "admin: audit export failed", "error", err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}

// verifyTimeLimit bounds GET /audit/verify.
const verifyTimeLimit = time.Hour

// auditVerify serves GET /audit/verify: the chain checked from its first archived link to
// the newest, {ok, checked, first_broken, …}.
func (s *Service) auditVerify(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	// Reading a large log takes longer than server.write_timeout allows a response (about
	// 40,000 links a second on two shared cores); the client may hang up at any time.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(verifyTimeLimit))
	report, err := audit.Verify(r.Context(), s.pool, s.auditDir)
	if err != nil {
		return internalError(err)
	}
	return writeJSON(w, http.StatusOK, report)
}
