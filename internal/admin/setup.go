package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/httpx"
)

// The first admin. A new project has none, and outside development only the command line
// makes one (`goforward admin create`). In development the dashboard offers a form instead,
// backed by POST /setup: it works while goforward.admins is empty, only for a request from
// this host, and makes a new user a system admin, exactly what `goforward admin create
// --level system_admin` run by the same developer would make.

// Error codes of /setup.
const (
	CodeSetupUnavailable = "setup_unavailable"
	CodeSetupDone        = "setup_done"
	CodeEmailExists      = "email_exists" // GoTrue's code for an address already taken
)

// firstAdminCommand is what the dashboard tells people to run where /setup does not work.
const firstAdminCommand = "goforward admin create --email you@example.com --level system_admin"

// actionSetup is the audit action of the first admin made through /setup, beside the
// admin.grant and user.create entries the grant writes.
const actionSetup = "admin.setup"

// dashboardRoutes are the endpoints the dashboard needed beyond the rest of the API: the
// first admin, and what the server tells an admin about itself.
func (s *Service) dashboardRoutes() []route {
	return []route{
		{method: "GET", path: "/setup", public: s.setupStatus},
		{method: "POST", path: "/setup", public: s.setup},
		{method: "GET", path: "/server", need: anyAdmin, handler: s.serverInfo},
		{method: "GET", path: "/settings", need: access.CanManageSystem, handler: s.settings},
	}
}

// setupState is GET /setup's answer.
type setupState struct {
	Environment string `json:"environment"`
	// FirstAdminNeeded: no admin was ever granted (goforward.admins is empty).
	FirstAdminNeeded bool `json:"first_admin_needed"`
	// FirstAdminAllowed: POST /setup would accept this client now.
	FirstAdminAllowed bool `json:"first_admin_allowed"`
	// Command makes the first admin where the form does not.
	Command string `json:"command"`
}

// setupStatus is GET /setup: whether the first admin is still to be made and whether this
// client may make it here. The sign-in page reads it to show the right form.
func (s *Service) setupStatus(w http.ResponseWriter, r *http.Request) error {
	exists, err := anyAdminExists(r.Context(), s.pool)
	if err != nil {
		return internalError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, setupState{
		Environment:       s.cfg.Environment,
		FirstAdminNeeded:  !exists,
		FirstAdminAllowed: !exists && s.setupRefusal(r) == nil,
		Command:           firstAdminCommand,
	})
}

// setupRequest is POST /setup's body.
type setupRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// setup is POST /setup {email, password}: 201 with the new system admin (and its new user,
// e-mail confirmed). The caller then signs in with the same password as any admin.
func (s *Service) setup(w http.ResponseWriter, r *http.Request) error {
	if err := s.setupRefusal(r); err != nil {
		return err
	}
	var in setupRequest
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	in.Email = strings.TrimSpace(in.Email)
	if in.Email == "" || in.Password == "" {
		return badRequest(CodeValidationFailed, "Give the first admin's email and password")
	}
	var g Granted
	c := audit.ClientOf(r)
	err := s.manage.InTx(r.Context(), c, func(tx pgx.Tx) (err error) {
		g, err = s.makeFirstAdmin(r.Context(), tx, c, in)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, g)
}

// makeFirstAdmin grants the first admin within tx, under the lock every admin change takes,
// so two forms sent at once make one admin and the other is told one exists.
func (s *Service) makeFirstAdmin(ctx context.Context, tx pgx.Tx, c audit.Client, in setupRequest) (Granted, error) {
	if err := lockAdmins(ctx, tx); err != nil {
		return Granted{}, err
	}
	exists, err := anyAdminExists(ctx, tx)
	if err != nil {
		return Granted{}, internalError(err)
	}
	if exists {
		return Granted{}, apiError(http.StatusConflict, CodeSetupDone, "An admin exists already: sign in, or have an admin (or %s) make you one", "goforward admin create")
	}
	// Only a new user: granting an existing account would hand it to whoever sends its
	// address first, without its password.
	id, err := s.manage.users.AdminFindUserID(ctx, tx, in.Email)
	if err != nil {
		return Granted{}, err
	}
	if id != "" {
		return Granted{}, apiError(http.StatusUnprocessableEntity, CodeEmailExists,
			"A user with this email address has already been registered: make that user an admin with goforward admin create --email %s --level system_admin", in.Email)
	}
	// The developer at this host could run `goforward admin create` on the data directory;
	// the grant is recorded as that command would record it.
	g, err := s.manage.CreateAdmin(ctx, tx, access.CLI(), c, NewAdmin{Email: in.Email, Password: in.Password, Level: access.SystemAdmin})
	if err != nil {
		return Granted{}, err
	}
	e := audit.Entry{
		Actor: audit.Actor{Type: audit.ActorAnon, Email: in.Email}, Action: actionSetup, ResourceType: "admin",
		ResourceID: g.UserID, Severity: audit.Critical, Client: c,
		Details: map[string]any{"email": g.Email, "level": string(g.Level), "environment": s.cfg.Environment},
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return Granted{}, internalError(err)
	}
	return g, nil
}

// setupRefusal refuses /setup outside development and from other hosts: a development
// server listening on every interface must not let someone on the network take it over.
func (s *Service) setupRefusal(r *http.Request) error {
	if s.cfg.Environment != config.EnvDevelopment {
		return forbidden(CodeSetupUnavailable, "The first admin is made from the command line in %s: %s", s.cfg.Environment, firstAdminCommand)
	}
	if !fromLoopback(r) {
		return forbidden(CodeSetupUnavailable, "The first admin can be made in the dashboard only from the host goforward runs on; elsewhere run %s", firstAdminCommand)
	}
	return nil
}

// queryRower is a pool or a transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// anyAdminExists reports whether any admin was ever granted, revoked ones included: once a
// project had an admin, the first admin is behind it.
func anyAdminExists(ctx context.Context, q queryRower) (bool, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM goforward.admins)`).Scan(&exists); err != nil {
		return false, fmt.Errorf("admin: any admin: %w", err)
	}
	return exists, nil
}
