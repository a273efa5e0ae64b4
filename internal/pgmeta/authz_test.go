package pgmeta_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/servicetest"
)

// TestReadAuthorization: every admin level may read the catalog (each holds
// can_view_dashboard), the service-role key may, and nobody else: no credentials, the anon
// key, a user's token or a dead session.
func TestReadAuthorization(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.UserToken(t, "00000000-0000-0000-0000-000000000001", nil)
	cases := []struct {
		name   string
		key    string // apikey header; "-" none
		token  string // Authorization: Bearer; "-" none
		status int
		error  string
	}{
		{"no credentials", "-", "-", 401, "This endpoint requires an admin session (Authorization: Bearer gfa_…) or the service-role key"},
		{"anon key", h.AnonKey(), "", 403, "This token does not grant access to the database API; use an admin session or the service-role key"},
		{"a user's token", h.AnonKey(), user, 403, "This token does not grant access to the database API; use an admin session or the service-role key"},
		{"an unknown session", "-", access.TokenPrefix + "nosuchsession", 401, "The admin session is invalid or has expired; sign in again"},
		{"service-role key as apikey", h.ServiceRoleKey(), "-", 200, ""},
		{"service-role key as bearer", "-", h.ServiceRoleKey(), 200, ""},
		{"system admin", "-", h.adminToken(t, access.SystemAdmin), 200, ""},
		{"super admin", "-", h.adminToken(t, access.SuperAdmin), 200, ""},
		{"regular admin", "-", h.adminToken(t, access.RegularAdmin), 200, ""},
		{"moderator", "-", h.adminToken(t, access.Moderator), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/pg/tables", "/pg/config/version", "/pg/relationships", "/pg/generators/typescript"} {
				res := h.Do(t, servicetest.Request{Method: "GET", Path: path, Key: tc.key, Token: tc.token})
				assert.Equal(t, tc.status, res.Status, "%s: %s", path, res.Body)
				if tc.error != "" {
					var body object
					res.JSON(t, &body)
					assert.Equal(t, object{"error": tc.error}, body)
				}
			}
		})
	}
}
