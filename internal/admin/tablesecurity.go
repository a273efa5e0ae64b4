package admin

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/tablesecurity"
)

// Error codes of the table security routes.
const (
	CodeTableSecurityConflict = "table_security_conflict"
	CodeTableBusy             = "table_busy"
)

// maxSecurityConfigBytes bounds a PUT body: a config is a few kilobytes even for a wide table.
const maxSecurityConfigBytes = 1 << 20

// tableSecurityRoutes are /tables/{table}/security, {table} being schema.table: a table's
// TableSecurityConfig, compiled into policies, grants, views and triggers. They need
// can_manage_all_tables (super and system admins, the service role): a config decides who
// reaches every row and column of the table, beyond any one admin's assigned tables.
func (s *Service) tableSecurityRoutes() []route {
	return []route{
		{method: "GET", path: "/tables/{table}/security", need: access.CanManageAllTables, handler: s.getTableSecurity},
		{method: "PUT", path: "/tables/{table}/security", need: access.CanManageAllTables, handler: s.putTableSecurity},
		{method: "DELETE", path: "/tables/{table}/security", need: access.CanManageAllTables, handler: s.deleteTableSecurity},
	}
}

// securityTable reads {table} as schema.table (the first dot separates them; quote nothing).
func securityTable(r *http.Request) (schema, name string, err error) {
	schema, name, ok := strings.Cut(r.PathValue("table"), ".")
	if !ok || schema == "" || name == "" {
		return "", "", badRequest(CodeValidationFailed, "The table must be given as schema.table, e.g. public.customers")
	}
	return schema, name, nil
}

// getTableSecurity is GET /tables/{schema.table}/security: the stored config (is_active true),
// or an empty one (is_active false) for a table without one.
func (s *Service) getTableSecurity(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	schema, name, err := securityTable(r)
	if err != nil {
		return err
	}
	cfg, err := s.tables.Get(r.Context(), schema, name)
	if err != nil {
		return tableSecurityError(err)
	}
	return writeJSON(w, http.StatusOK, cfg)
}

// putTableSecurity is PUT /tables/{schema.table}/security[?dry_run=true] with a
// TableSecurityConfig: {config, dry_run, sql, warnings}.
func (s *Service) putTableSecurity(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	schema, name, err := securityTable(r)
	if err != nil {
		return err
	}
	dryRun, err := dryRunParam(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSecurityConfigBytes))
	if err != nil {
		return badRequest(CodeValidationFailed, "The body could not be read (at most %d bytes): %v", maxSecurityConfigBytes, err)
	}
	res, err := s.tables.Put(r.Context(), schema, name, body, tablesecurity.Change{DryRun: dryRun, Audit: entry(r, p, "")})
	if err != nil {
		return tableSecurityError(err)
	}
	return writeJSON(w, http.StatusOK, res)
}

// deleteTableSecurity is DELETE /tables/{schema.table}/security[?dry_run=true]: removes what
// the config compiled and the config itself; {config: null, dry_run, sql, warnings}.
func (s *Service) deleteTableSecurity(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	schema, name, err := securityTable(r)
	if err != nil {
		return err
	}
	dryRun, err := dryRunParam(r)
	if err != nil {
		return err
	}
	res, err := s.tables.Delete(r.Context(), schema, name, tablesecurity.Change{DryRun: dryRun, Audit: entry(r, p, "")})
	if err != nil {
		return tableSecurityError(err)
	}
	return writeJSON(w, http.StatusOK, res)
}

func dryRunParam(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("dry_run")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest(CodeValidationFailed, "dry_run must be true or false")
	}
	return b, nil
}

func tableSecurityError(err error) error {
	switch {
	case errors.Is(err, tablesecurity.ErrInvalid):
		return badRequest(CodeValidationFailed, "%s", err.Error())
	case errors.Is(err, tablesecurity.ErrNoTable):
		return notFound("%s", err.Error())
	case errors.Is(err, tablesecurity.ErrConflict):
		return apiError(http.StatusConflict, CodeTableSecurityConflict, "%s", err.Error())
	case errors.Is(err, tablesecurity.ErrBusy):
		return apiError(http.StatusConflict, CodeTableBusy, "The table stayed locked by other work; try again: %s", err.Error())
	}
	return internalError(err)
}
