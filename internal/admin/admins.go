package admin

import (
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
)

// adminRoutes are /admins: who is an admin, at which level, limited to which tables and user
// groups. Every route needs can_create_admins (super admins and above, the service role);
// what a caller may grant or change is then decided by its own level.
func (s *Service) adminRoutes() []route {
	return []route{
		{method: "GET", path: "/admins", need: access.CanCreateAdmins, handler: s.listAdmins},
		{method: "POST", path: "/admins", need: access.CanCreateAdmins, handler: s.createAdmin},
		{method: "GET", path: "/admins/{user_id}", need: access.CanCreateAdmins, handler: s.getAdmin},
		{method: "PATCH", path: "/admins/{user_id}", need: access.CanCreateAdmins, handler: s.updateAdmin},
		{method: "DELETE", path: "/admins/{user_id}", need: access.CanCreateAdmins, handler: s.revokeAdmin},
	}
}

// listAdmins is GET /admins[?include_revoked=true]: {"admins":[…]}, highest level first.
func (s *Service) listAdmins(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	includeRevoked := false
	if raw := r.URL.Query().Get("include_revoked"); raw != "" {
		var err error
		if includeRevoked, err = strconv.ParseBool(raw); err != nil {
			return badRequest(CodeValidationFailed, "include_revoked must be true or false")
		}
	}
	admins, err := s.manage.ListAdmins(r.Context(), s.pool, includeRevoked)
	if err != nil {
		return internalError(err)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"admins": admins})
}

// createAdmin is POST /admins {user_id | email [+ password], level, assigned_tables,
// assigned_user_groups}: 201 with the admin.
func (s *Service) createAdmin(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var n NewAdmin
	if err := httpx.DecodeJSON(r, &n); err != nil {
		return err
	}
	var g Granted
	c := audit.ClientOf(r)
	err := s.manage.InTx(r.Context(), c, func(tx pgx.Tx) (err error) {
		g, err = s.manage.CreateAdmin(r.Context(), tx, p, c, n)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, g)
}

// getAdmin is GET /admins/{user_id}: the admin, revoked or not.
func (s *Service) getAdmin(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	a, err := s.manage.GetAdmin(r.Context(), s.pool, r.PathValue("user_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// updateAdmin is PATCH /admins/{user_id} {level, assigned_tables, assigned_user_groups}.
func (s *Service) updateAdmin(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var ch AdminChange
	if err := httpx.DecodeJSON(r, &ch); err != nil {
		return err
	}
	var a Admin
	c := audit.ClientOf(r)
	err := s.manage.InTx(r.Context(), c, func(tx pgx.Tx) (err error) {
		a, err = s.manage.UpdateAdmin(r.Context(), tx, p, c, r.PathValue("user_id"), ch)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// revokeAdmin is DELETE /admins/{user_id}: the grant ends with the admin's sessions; the
// answer is the revoked admin.
func (s *Service) revokeAdmin(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var a Admin
	c := audit.ClientOf(r)
	err := s.manage.InTx(r.Context(), c, func(tx pgx.Tx) (err error) {
		a, err = s.manage.RevokeAdmin(r.Context(), tx, p, c, r.PathValue("user_id"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}
