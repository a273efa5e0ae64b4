package rest

import (
	"context"
	_ "embed"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/db"
)

//go:embed sql/openapi_privileges.sql
var openAPIPrivilegesSQL string

// reach is what one role may reach in one schema: the OpenAPI description lists only that,
// as PostgREST's default openapi-mode = follow-privileges does.
type reach struct {
	relations map[string]relationReach
	functions map[int64]bool
}

// relationReach is one relation the role holds some privilege on.
type relationReach struct {
	Name   string `json:"name"`
	Select bool   `json:"select"`
	Insert bool   `json:"insert"`
	Update bool   `json:"update"`
	Delete bool   `json:"delete"`
	// Columns are the columns the role holds any privilege on, in table order.
	Columns []string `json:"columns"`
}

// reachOf asks PostgreSQL, as scope's role, what that role may reach in schema.
func (s *Service) reachOf(ctx context.Context, scope db.RequestScope, schema string) (*reach, error) {
	var (
		usage     bool
		relations []relationReach
		functions []int64
	)
	stmts := []db.Statement{{SQL: openAPIPrivilegesSQL, Args: []any{schema}}}
	err := s.runner.RunInRole(ctx, scope, db.PipelineOptions{ReadOnly: true}, stmts, func(_ int, rows pgx.Rows) error {
		if !rows.Next() {
			return rows.Err()
		}
		return rows.Scan(&usage, &relations, &functions)
	})
	if err != nil {
		return nil, err
	}
	r := &reach{relations: map[string]relationReach{}, functions: map[int64]bool{}}
	// Without USAGE on the schema every request would fail, so nothing in it is reachable.
	if !usage {
		return r, nil
	}
	for _, rel := range relations {
		r.relations[rel.Name] = rel
	}
	for _, oid := range functions {
		r.functions[oid] = true
	}
	return r, nil
}
