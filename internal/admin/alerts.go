package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/alerts"
	"github.com/goforward/goforward/internal/audit"
)

// The security monitor's alerts over HTTP (internal/alerts): GET /alerts (a page, newest
// first), GET /alerts/{id}, POST /alerts/{id}/acknowledge and POST /alerts/{id}/resolve.
// Reading them needs can_view_all_logs (they name accounts and addresses under attack);
// acknowledging and resolving need can_manage_auth. Resolving a block_ip alert lifts its block.

// CodeAlertResolved answers an acknowledgement or resolution of a resolved alert.
const CodeAlertResolved = "alert_resolved"

func (s *Service) alertRoutes() []route {
	return []route{
		{method: "GET", path: "/alerts", need: access.CanViewAllLogs, handler: s.alertList},
		{method: "GET", path: "/alerts/{id}", need: access.CanViewAllLogs, handler: s.alertGet},
		{method: "POST", path: "/alerts/{id}/acknowledge", need: access.CanManageAuth, handler: s.alertSetStatus(alerts.StatusAcknowledged)},
		{method: "POST", path: "/alerts/{id}/resolve", need: access.CanManageAuth, handler: s.alertSetStatus(alerts.StatusResolved)},
	}
}

var alertParams = map[string]bool{"status": true, "rule": true, "severity": true, "subject": true, "limit": true, "cursor": true}

func (s *Service) alertList(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	q := r.URL.Query()
	for name := range q {
		if !alertParams[name] {
			return badRequest(CodeValidationFailed, "Unknown query parameter %q", name)
		}
	}
	f := alerts.Filter{Status: q.Get("status"), Rule: q.Get("rule"), Severity: q.Get("severity"), Subject: q.Get("subject"), Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return badRequest(CodeValidationFailed, "limit must be a number between 1 and 500")
		}
		f.Limit = n
	}
	page, err := alerts.List(r.Context(), s.pool, f)
	if err != nil {
		return alertError(err)
	}
	return writeJSON(w, http.StatusOK, page)
}

func alertID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound("No alert has the id %q", r.PathValue("id"))
	}
	return id, nil
}

func (s *Service) alertGet(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	a, err := alerts.Get(r.Context(), s.pool, id)
	if err != nil {
		return alertError(err)
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Service) alertSetStatus(status string) func(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p access.Principal) error {
		id, err := alertID(r)
		if err != nil {
			return err
		}
		var a alerts.Alert
		err = pgx.BeginFunc(r.Context(), s.pool, func(tx pgx.Tx) error {
			a, err = alerts.SetStatus(r.Context(), tx, id, status, p.Actor(), audit.ClientOf(r))
			return err
		})
		if err != nil {
			return alertError(err)
		}
		if status == alerts.StatusResolved && s.blocks != nil {
			if err := alerts.LiftBlock(r.Context(), s.blocks, a); err != nil {
				s.logger.Error("admin: lift the block of a resolved alert", "alert", a.ID, "error", err)
			}
		}
		return writeJSON(w, http.StatusOK, a)
	}
}

func alertError(err error) error {
	switch {
	case errors.Is(err, alerts.ErrNotFound):
		return notFound("No such alert")
	case errors.Is(err, alerts.ErrResolved):
		return apiError(http.StatusConflict, CodeAlertResolved, "The alert is resolved; a new hit opens a new alert")
	case errors.Is(err, alerts.ErrInvalid):
		return badRequest(CodeValidationFailed, "%s", strings.TrimPrefix(err.Error(), alerts.ErrInvalid.Error()+": "))
	}
	return internalError(err)
}
