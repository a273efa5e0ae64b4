package meta

import (
	"context"
	_ "embed"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed sql/role_settings.sql
var roleSettingsSQL string

// loadRoleSettings reads PostgREST's in-database configuration into s.settings. The
// authenticator role's settings can only be changed by a superuser or a role that administers
// authenticator, that is by whoever runs the database.
func loadRoleSettings(ctx context.Context, q Querier, s *Schema) error {
	rows, err := q.Query(ctx, roleSettingsSQL)
	if err != nil {
		return err
	}
	var name, value string
	_, err = pgx.ForEachRow(rows, []any{&name, &value}, func() error {
		if s.settings == nil {
			s.settings = map[string]string{}
		}
		s.settings[name] = value
		return nil
	})
	return err
}

// BoolSetting reads a boolean of PostgREST's in-database configuration (name without the
// pgrst. prefix, e.g. "db_aggregates_enabled"): ok is false when the setting is absent or not
// a boolean, and the service's own configuration applies.
func (s *Schema) BoolSetting(name string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s.settings[name])) {
	case "true", "on", "yes", "1":
		return true, true
	case "false", "off", "no", "0":
		return false, true
	}
	return false, false
}
