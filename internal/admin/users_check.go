package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/httpx"
)

// What the manager checks before it lets a principal act on a user.

// banForever is what a ban of "forever" lasts: a hundred years, as Supabase suggests.
const banForever = "876000h"

// target is what the manager checks of a user before acting on them.
type target struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	AppMetadata struct {
		Groups json.RawMessage `json:"groups"`
	} `json:"app_metadata"`
	groups     []string
	adminLevel access.Level    // "" when the user is no admin
	raw        json.RawMessage // the user as auth answered
}

func parseTarget(raw json.RawMessage) (target, error) {
	var t target
	if err := json.Unmarshal(raw, &t); err != nil {
		return t, internalError(err)
	}
	t.groups = groupsOf(t.AppMetadata.Groups)
	t.raw = raw
	return t, nil
}

// groupsOf reads app_metadata.groups: an array of strings; anything else is no groups.
func groupsOf(raw json.RawMessage) []string {
	var groups []string
	if json.Unmarshal(raw, &groups) != nil {
		return nil
	}
	return groups
}

// lockUser locks the user named by id for the rest of tx and reads what checks need.
func (m *Manager) lockUser(ctx context.Context, tx pgx.Tx, id string) (target, error) {
	raw, err := m.users.AdminLockUser(ctx, tx, strings.ToLower(id))
	if err != nil {
		return target{}, err
	}
	t, err := parseTarget(raw)
	if err != nil {
		return t, err
	}
	t.adminLevel, err = activeAdminLevel(ctx, tx, t.ID)
	return t, err
}

// mayManageUsers refuses a principal without can_manage_users (the routes' guard already
// did; the check keeps every caller of the manager honest).
func mayManageUsers(p access.Principal, action, id string) error {
	if p.Has(access.CanManageUsers) {
		return nil
	}
	return refuse(p, action, "user", id, http.StatusForbidden, CodeInsufficientCapability, ErrNotAllowed,
		"Managing users needs the %s capability", access.CanManageUsers)
}

// mayManageUser refuses a user outside the principal's reach: a regular admin manages only
// users in one of its groups, and only a higher level changes an admin's account (whoever
// resets an admin's password signs in as that admin).
func mayManageUser(p access.Principal, action string, t target, changes bool) error {
	if err := mayManageUsers(p, action, t.ID); err != nil {
		return err
	}
	if !p.Capabilities.MayManageUserIn(t.groups) {
		return refuse(p, action, "user", t.ID, http.StatusForbidden, CodeUserOutsideGroups, ErrNotAllowed,
			"This user is in none of your user groups (%s)", strings.Join(p.Capabilities.AssignedGroups, ", "))
	}
	if changes && t.adminLevel != "" {
		return mayManageAdmin(p, action, "user", t.ID, t.adminLevel)
	}
	return nil
}

// checkUserBody refuses what p may not set in a create or update body. role is the database
// role of the user's requests (service_role would make their tokens the service-role key), so
// it needs can_manage_database. An admin limited to user groups may not set password_hash or
// app_metadata other than groups, may add or remove only its own groups, and creates users
// only inside them.
func checkUserBody(p access.Principal, action, id string, body json.RawMessage, before []string, creating bool) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return badRequest(httpx.CodeBadJSON, "The body must be a JSON object")
	}
	needs := func(field string, c access.Capability) error {
		return refuse(p, action, "user", id, http.StatusForbidden, CodeInsufficientCapability, ErrNotAllowed,
			"Setting %s needs the %s capability", field, c)
	}
	if set(fields["role"]) && !p.Has(access.CanManageDatabase) {
		return needs("role", access.CanManageDatabase)
	}
	if p.Capabilities.AllUsers() {
		return nil
	}
	if set(fields["password_hash"]) {
		return needs("password_hash", access.CanManageAuth)
	}
	after := before
	if raw, ok := fields["app_metadata"]; ok && set(raw) {
		var meta map[string]json.RawMessage
		if err := json.Unmarshal(raw, &meta); err != nil {
			return badRequest(CodeValidationFailed, "app_metadata must be an object")
		}
		for key, value := range meta {
			if key != "groups" {
				return needs("app_metadata."+key, access.CanManageAuth)
			}
			after = nil
			if set(value) {
				if err := json.Unmarshal(value, &after); err != nil {
					return badRequest(CodeValidationFailed, "app_metadata.groups must be an array of group names")
				}
			}
		}
	}
	mine := p.Capabilities.AssignedGroups
	for _, g := range symmetricDifference(before, after) {
		if !slices.Contains(mine, g) {
			return refuse(p, action, "user", id, http.StatusForbidden, CodeUserOutsideGroups, ErrNotAllowed,
				"You may add or remove only your own user groups (%s), not %q", strings.Join(mine, ", "), g)
		}
	}
	if creating && !p.Capabilities.MayManageUserIn(after) {
		return refuse(p, action, "user", id, http.StatusForbidden, CodeUserOutsideGroups, ErrNotAllowed,
			"A user you create must be in one of your user groups (%s): set app_metadata.groups", strings.Join(mine, ", "))
	}
	return nil
}

// set reports whether a JSON field carries a value: present, not null and not "".
func set(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != `""`
}

func symmetricDifference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}

// isCode reports whether err is an answer with this error code.
func isCode(err error, code string) bool {
	var appErr *httpx.AppError
	return errors.As(err, &appErr) && appErr.Code == code
}
