package admin

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
)

// userRoutes are /users: the user management an admin needs, done by auth's own code. Every
// route needs can_manage_users; a regular admin reaches only the users in its groups.
func (s *Service) userRoutes() []route {
	need := access.CanManageUsers
	return []route{
		{method: "GET", path: "/users", need: need, handler: s.listUsers},
		{method: "POST", path: "/users", need: need, handler: s.createUser},
		{method: "GET", path: "/users/{id}", need: need, handler: s.getUser},
		{method: "PATCH", path: "/users/{id}", need: need, handler: s.updateUser},
		{method: "DELETE", path: "/users/{id}", need: need, handler: s.deleteUser},
		{method: "POST", path: "/users/{id}/ban", need: need, handler: s.banUser},
		{method: "POST", path: "/users/{id}/unban", need: need, handler: s.unbanUser},
		{method: "POST", path: "/users/{id}/unlock", need: need, handler: s.unlockUser},
		{method: "POST", path: "/users/{id}/logout", need: need, handler: s.signOutUser},
		{method: "POST", path: "/users/{id}/reset_mfa", need: need, handler: s.resetMFA},
		{method: "POST", path: "/users/{id}/recover", need: need, handler: s.sendRecovery},
	}
}

// inTx runs one change of the manager for request r.
func (s *Service) inTx(r *http.Request, fn func(tx pgx.Tx, c audit.Client) error) error {
	c := audit.ClientOf(r)
	return s.manage.InTx(r.Context(), c, func(tx pgx.Tx) error { return fn(tx, c) })
}

// rawBody reads a JSON object body as it is, for auth to read as its admin API does.
func rawBody(r *http.Request) (json.RawMessage, error) {
	var body json.RawMessage
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return nil, err
	}
	return body, nil
}

// listUsers is GET /users?page=&per_page=&filter=&sort= (GoTrue's parameters):
// {"users","total","page","per_page"}.
func (s *Service) listUsers(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	raw, err := s.manage.ListUsers(r.Context(), p, r.URL.Query())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, raw)
}

// createUser is POST /users with the body of GoTrue's POST /admin/users: 201 with the user.
func (s *Service) createUser(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := rawBody(r)
	if err != nil {
		return err
	}
	var u json.RawMessage
	err = s.inTx(r, func(tx pgx.Tx, c audit.Client) (err error) {
		u, err = s.manage.CreateUser(r.Context(), tx, p, c, body)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, u)
}

// getUser is GET /users/{id}.
func (s *Service) getUser(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var u json.RawMessage
	err := s.inTx(r, func(tx pgx.Tx, _ audit.Client) (err error) {
		u, err = s.manage.GetUser(r.Context(), tx, p, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// updateUser is PATCH /users/{id} with the body of GoTrue's PUT /admin/users/{id}.
func (s *Service) updateUser(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	body, err := rawBody(r)
	if err != nil {
		return err
	}
	var u json.RawMessage
	err = s.inTx(r, func(tx pgx.Tx, c audit.Client) (err error) {
		u, err = s.manage.UpdateUser(r.Context(), tx, p, c, r.PathValue("id"), body)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// deleteUser is DELETE /users/{id}[?soft=true]: answers {}.
func (s *Service) deleteUser(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	soft := false
	if raw := r.URL.Query().Get("soft"); raw != "" {
		var err error
		if soft, err = strconv.ParseBool(raw); err != nil {
			return badRequest(CodeValidationFailed, "soft must be true or false")
		}
	}
	err := s.inTx(r, func(tx pgx.Tx, c audit.Client) error {
		return s.manage.DeleteUser(r.Context(), tx, p, c, r.PathValue("id"), soft)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{})
}

// banUser is POST /users/{id}/ban {"duration": "24h" | "forever"}: the user.
func (s *Service) banUser(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var body struct {
		Duration string `json:"duration"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	var u json.RawMessage
	err := s.inTx(r, func(tx pgx.Tx, c audit.Client) (err error) {
		u, err = s.manage.BanUser(r.Context(), tx, p, c, r.PathValue("id"), body.Duration)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// unbanUser is POST /users/{id}/unban: the user.
func (s *Service) unbanUser(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var u json.RawMessage
	err := s.inTx(r, func(tx pgx.Tx, c audit.Client) (err error) {
		u, err = s.manage.UnbanUser(r.Context(), tx, p, c, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// unlockUser is POST /users/{id}/unlock: {"records_cleared": n}.
func (s *Service) unlockUser(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var n int64
	err := s.inTx(r, func(tx pgx.Tx, c audit.Client) (err error) {
		n, err = s.manage.UnlockUser(r.Context(), tx, p, c, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"records_cleared": n})
}

// signOutUser is POST /users/{id}/logout: every session of the user ends.
func (s *Service) signOutUser(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var out SignedOut
	err := s.inTx(r, func(tx pgx.Tx, c audit.Client) (err error) {
		out, err = s.manage.SignOutUser(r.Context(), tx, p, c, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// resetMFA is POST /users/{id}/reset_mfa: {"factors_removed": n}.
func (s *Service) resetMFA(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var n int
	err := s.inTx(r, func(tx pgx.Tx, c audit.Client) (err error) {
		n, err = s.manage.ResetMFA(r.Context(), tx, p, c, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"factors_removed": n})
}

// sendRecovery is POST /users/{id}/recover: a recovery link goes to the user's address.
func (s *Service) sendRecovery(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	err := s.inTx(r, func(tx pgx.Tx, c audit.Client) error {
		return s.manage.SendRecovery(r.Context(), tx, p, c, r.PathValue("id"))
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{})
}
