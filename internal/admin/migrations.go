package admin

import (
	"errors"
	"net/http"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/usermigrations"
)

// Error codes of the migration routes.
const (
	CodeMigrationsUnavailable = "migrations_unavailable"
	CodeMigrationFailed       = "migration_failed"
	CodeMigrationChanged      = "migration_changed"
	CodeMigrationIrreversible = "migration_irreversible"
	CodeMigrationConflict     = "migration_conflict"
)

// migrationRoutes are /migrations: the project's schema migrations, as `goforward migrate`
// runs them, for the dashboard. Every route needs can_manage_database (system admins and the
// service role): a migration is arbitrary SQL run as the database owner.
func (s *Service) migrationRoutes() []route {
	return []route{
		{method: "GET", path: "/migrations", need: access.CanManageDatabase, handler: s.listMigrations},
		{method: "POST", path: "/migrations", need: access.CanManageDatabase, handler: s.createMigration},
		{method: "GET", path: "/migrations/history", need: access.CanManageDatabase, handler: s.migrationHistory},
		{method: "POST", path: "/migrations/up", need: access.CanManageDatabase, handler: s.migrateUp},
		{method: "POST", path: "/migrations/down", need: access.CanManageDatabase, handler: s.migrateDown},
	}
}

// migrations is the migration service, or the answer that there is none.
func (s *Service) migrations() (*usermigrations.Service, error) {
	if s.mig == nil {
		return nil, apiError(http.StatusServiceUnavailable, CodeMigrationsUnavailable, "Migrations are not available on this node")
	}
	return s.mig, nil
}

// listMigrations is GET /migrations: {"dir", "migrations": [every migration with its status,
// in version order]}.
func (s *Service) listMigrations(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	m, err := s.migrations()
	if err != nil {
		return err
	}
	list, err := m.Status(r.Context())
	if err != nil {
		return migrationError(err)
	}
	if list == nil {
		list = []usermigrations.Status{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"dir": m.Dir(), "migrations": list})
}

// createMigration is POST /migrations {name, up, down, apply | mark_applied}: the SQL becomes
// a new migration file (the dashboard's "save as migration" of DDL run through /pg, with
// mark_applied), applied at once with apply. 201 with the migration's status.
func (s *Service) createMigration(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	m, err := s.migrations()
	if err != nil {
		return err
	}
	var n usermigrations.NewMigration
	if err := httpx.DecodeJSON(r, &n); err != nil {
		return err
	}
	st, err := m.Create(r.Context(), entry(r, p, ""), n)
	if err != nil {
		return migrationError(err)
	}
	return writeJSON(w, http.StatusCreated, st)
}

// migrationHistory is GET /migrations/history: {"history": [what was applied, with its SQL,
// oldest first]}.
func (s *Service) migrationHistory(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	m, err := s.migrations()
	if err != nil {
		return err
	}
	h, err := m.History(r.Context())
	if err != nil {
		return migrationError(err)
	}
	if h == nil {
		h = []usermigrations.Applied{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"history": h})
}

// migrateUp is POST /migrations/up {to, dry_run} (a body is optional): `goforward migrate up`.
func (s *Service) migrateUp(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	m, err := s.migrations()
	if err != nil {
		return err
	}
	var body struct {
		To     string `json:"to"`
		DryRun bool   `json:"dry_run"`
	}
	if err := decodeOptional(r, &body); err != nil {
		return err
	}
	res, err := m.Up(r.Context(), entry(r, p, ""), usermigrations.UpOptions{To: body.To, DryRun: body.DryRun})
	if err != nil {
		return migrationError(err)
	}
	return writeJSON(w, http.StatusOK, res)
}

// migrateDown is POST /migrations/down {count, dry_run} (a body is optional; count defaults
// to 1): `goforward migrate down`.
func (s *Service) migrateDown(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	m, err := s.migrations()
	if err != nil {
		return err
	}
	var body struct {
		Count  int  `json:"count"`
		DryRun bool `json:"dry_run"`
	}
	if err := decodeOptional(r, &body); err != nil {
		return err
	}
	res, err := m.Down(r.Context(), entry(r, p, ""), usermigrations.DownOptions{Count: body.Count, DryRun: body.DryRun})
	if err != nil {
		return migrationError(err)
	}
	return writeJSON(w, http.StatusOK, res)
}

// decodeOptional decodes a JSON body when there is one.
func decodeOptional(r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	return httpx.DecodeJSON(r, v)
}

// migrationError answers for a refusal or failure of the migration service. A failed
// migration's PostgreSQL error is the caller's own SQL's, so it is shown, with where it is.
func migrationError(err error) error {
	var failed *usermigrations.FailedError
	switch {
	case errors.As(err, &failed):
		e := badRequest(CodeMigrationFailed, "%s", failed.Error())
		e.Details = map[string]any{"version": failed.Version, "name": failed.Name, "direction": failed.Direction,
			"source": failed.Source, "statement": failed.Statement, "line": failed.Line, "sql": failed.SQL}
		return e.WithCause(err)
	case errors.Is(err, usermigrations.ErrInvalid):
		return badRequest(CodeValidationFailed, "%s", err.Error()).WithCause(err)
	case errors.Is(err, usermigrations.ErrNotFound):
		return notFound("%s", err.Error()).WithCause(err)
	case errors.Is(err, usermigrations.ErrChecksum):
		return apiError(http.StatusConflict, CodeMigrationChanged, "%s", err.Error()).WithCause(err)
	case errors.Is(err, usermigrations.ErrIrreversible):
		return apiError(http.StatusConflict, CodeMigrationIrreversible, "%s", err.Error()).WithCause(err)
	case errors.Is(err, usermigrations.ErrConflict):
		return apiError(http.StatusConflict, CodeMigrationConflict, "%s", err.Error()).WithCause(err)
	}
	return internalError(err)
}
