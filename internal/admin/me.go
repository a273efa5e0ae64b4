package admin

import (
	"net/http"

	"github.com/goforward/goforward/internal/access"
)

// meResponse describes the caller.
type meResponse struct {
	Kind           access.Kind         `json:"kind"`
	UserID         string              `json:"user_id,omitempty"`
	Email          string              `json:"email,omitempty"`
	Level          access.Level        `json:"level"`
	Capabilities   access.Capabilities `json:"capabilities"`
	AssignedTables []string            `json:"assigned_tables"`
	AssignedGroups []string            `json:"assigned_user_groups"`
	Session        *access.Session     `json:"session,omitempty"`
	// CSRFToken is given to a cookie session (the dashboard after a reload), which must echo
	// it in X-CSRF-Token on every request that changes something.
	CSRFToken string `json:"csrf_token,omitempty"`
}

// me serves GET /me: who the caller is, what it may do, and its session.
func (s *Service) me(w http.ResponseWriter, _ *http.Request, p access.Principal) error {
	return writeJSON(w, http.StatusOK, meResponse{
		Kind: p.Kind, UserID: p.UserID, Email: p.Email, Level: p.Level, Capabilities: p.Capabilities,
		AssignedTables: p.Capabilities.AssignedTables, AssignedGroups: p.Capabilities.AssignedGroups,
		Session: p.Session, CSRFToken: p.CSRF(),
	})
}
