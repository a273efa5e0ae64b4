package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// CodeNameTaken: a live API key already has the name.
const CodeNameTaken = "name_taken"

// apiKeyRoutes are /api-keys: the publishable and secret keys beside the legacy JWT keys. A
// secret key is the service role (within its scope), so managing keys takes what the service
// role itself holds: can_manage_system (system admins, emergency access, the service role).
// Listing needs it too: the list tells which keys exist and what each reaches.
func (s *Service) apiKeyRoutes() []route {
	return []route{
		{method: "GET", path: "/api-keys", need: access.CanManageSystem, handler: s.listAPIKeys},
		{method: "POST", path: "/api-keys", need: access.CanManageSystem, handler: s.createAPIKey},
		{method: "GET", path: "/api-keys/{id}", need: access.CanManageSystem, handler: s.getAPIKey},
		{method: "DELETE", path: "/api-keys/{id}", need: access.CanManageSystem, handler: s.revokeAPIKey},
	}
}

// newAPIKeyBody is POST /api-keys's body. expires_in (seconds) is a convenience beside
// expires_at; at most one of them.
type newAPIKeyBody struct {
	Name      string            `json:"name"`
	Kind      string            `json:"kind"`
	Scopes    security.KeyScope `json:"scopes"`
	ExpiresAt *time.Time        `json:"expires_at"`
	ExpiresIn *int64            `json:"expires_in"`
}

// listAPIKeys is GET /api-keys[?include_revoked=true]: {"api_keys":[…]}, newest first. The
// keys themselves are never shown again, only their prefixes.
func (s *Service) listAPIKeys(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	includeRevoked := false
	if raw := r.URL.Query().Get("include_revoked"); raw != "" {
		var err error
		if includeRevoked, err = strconv.ParseBool(raw); err != nil {
			return badRequest(CodeValidationFailed, "include_revoked must be true or false")
		}
	}
	keys, err := apikeys.List(r.Context(), s.pool, includeRevoked)
	if err != nil {
		return internalError(err)
	}
	if keys == nil {
		keys = []apikeys.Key{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"api_keys": keys})
}

// createAPIKey is POST /api-keys {name, kind, scopes: {services, tables}, expires_at |
// expires_in}: 201 with the key in api_key, the only time it is shown.
func (s *Service) createAPIKey(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var body newAPIKeyBody
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	n := apikeys.NewKey{Name: body.Name, Kind: body.Kind, Scopes: body.Scopes, ExpiresAt: body.ExpiresAt}
	if body.ExpiresIn != nil {
		if body.ExpiresAt != nil {
			return badRequest(CodeValidationFailed, "give expires_at or expires_in, not both")
		}
		if *body.ExpiresIn <= 0 {
			return badRequest(CodeValidationFailed, "expires_in must be a positive number of seconds")
		}
		at := s.now().Add(time.Duration(*body.ExpiresIn) * time.Second).UTC()
		n.ExpiresAt = &at
	}
	if p.APIKey != nil {
		n.Limit = &p.APIKey.Scope
	}
	var created apikeys.Created
	err := s.manage.InTx(r.Context(), audit.ClientOf(r), func(tx pgx.Tx) (err error) {
		created, err = apikeys.Create(r.Context(), tx, n, p.Actor(), audit.ClientOf(r))
		return err
	})
	if err != nil {
		return apiKeyError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, created)
}

// getAPIKey is GET /api-keys/{id}: the key as listed, revoked or not.
func (s *Service) getAPIKey(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	k, err := apikeys.Get(r.Context(), s.pool, r.PathValue("id"))
	if err != nil {
		return apiKeyError(err)
	}
	return writeJSON(w, http.StatusOK, k)
}

// revokeAPIKey is DELETE /api-keys/{id}: the key stops working on every node at once; the
// answer is the revoked key. Revoking a revoked key answers it unchanged.
func (s *Service) revokeAPIKey(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var k apikeys.Key
	err := s.manage.InTx(r.Context(), audit.ClientOf(r), func(tx pgx.Tx) (err error) {
		k, err = apikeys.Revoke(r.Context(), tx, r.PathValue("id"), p.Actor(), audit.ClientOf(r))
		return err
	})
	if err != nil {
		return apiKeyError(err)
	}
	return writeJSON(w, http.StatusOK, k)
}

// apiKeyError maps apikeys' errors onto the admin API's answers.
func apiKeyError(err error) error {
	var invalid *apikeys.ValidationError
	switch {
	case errors.As(err, &invalid):
		return badRequest(CodeValidationFailed, "%s", invalid.Error())
	case errors.Is(err, apikeys.ErrNameTaken):
		return apiError(http.StatusConflict, CodeNameTaken, "A live API key is already named so; revoke it or choose another name")
	case errors.Is(err, apikeys.ErrTooWide):
		return forbidden(CodeInsufficientCapability, "A secret key may only create keys within its own scopes")
	case errors.Is(err, apikeys.ErrNotFound):
		return notFound("No API key with this id")
	}
	return internalError(err)
}
