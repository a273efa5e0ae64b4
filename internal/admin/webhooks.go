package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/webhooks"
)

// webhookRoutes are /webhooks: database webhooks (internal/webhooks), which POST the changes
// of a table to a URL. They send table contents out of the server, so managing and listing
// them takes can_manage_database.
func (s *Service) webhookRoutes() []route {
	return []route{
		{method: "GET", path: "/webhooks", need: access.CanManageDatabase, handler: s.listWebhooks},
		{method: "POST", path: "/webhooks", need: access.CanManageDatabase, handler: s.createWebhook},
		{method: "DELETE", path: "/webhooks/{id}", need: access.CanManageDatabase, handler: s.deleteWebhook},
	}
}

func (s *Service) listWebhooks(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	list, err := webhooks.List(r.Context(), s.pool)
	if err != nil {
		return internalError(err)
	}
	if list == nil {
		list = []webhooks.Webhook{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"webhooks": list})
}

// createWebhook is POST /webhooks {name, table, events, url, secret}: 201 with the webhook
// and its secret (generated when not given), the only time the secret is shown. Plain http
// URLs are accepted in development only.
func (s *Service) createWebhook(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var body webhooks.Webhook
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	created, err := webhooks.Create(r.Context(), s.pool, body, s.cfg.Environment == "development")
	switch {
	case errors.Is(err, webhooks.ErrInvalid):
		return badRequest(CodeValidationFailed, "%s", strings.TrimPrefix(err.Error(), webhooks.ErrInvalid.Error()+": "))
	case errors.Is(err, webhooks.ErrExists):
		return apiError(http.StatusConflict, CodeNameTaken, "A webhook is already named so")
	case err != nil:
		return internalError(err)
	}
	e := entry(r, p, "webhooks.create")
	e.ResourceType, e.ResourceID = "webhook", created.ID
	e.Details = map[string]any{"name": created.Name, "table": created.Table, "events": created.Events}
	if err := audit.Record(r.Context(), s.pool, e); err != nil {
		s.logger.Error("admin: audit a new webhook", "error", err)
	}
	return writeJSON(w, http.StatusCreated, created)
}

func (s *Service) deleteWebhook(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id := r.PathValue("id")
	found, err := webhooks.Delete(r.Context(), s.pool, id)
	if err != nil {
		return internalError(err)
	}
	if !found {
		return notFound("No webhook has the id %q", id)
	}
	e := entry(r, p, "webhooks.delete")
	e.ResourceType, e.ResourceID = "webhook", id
	if err := audit.Record(r.Context(), s.pool, e); err != nil {
		s.logger.Error("admin: audit a deleted webhook", "error", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
