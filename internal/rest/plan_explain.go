package rest

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/meta"
)

// explainStatement wraps q's statement in EXPLAIN with the options asked for, as PostgREST's
// db-plan-enabled does: the plan is of the very statement the request would run (its JSON
// aggregation included). With analyze the statement runs; a write is then committed unless
// Prefer: tx=rollback, as in PostgREST.
func explainStatement(spec *PlanSpec, stmt Statement) db.Statement {
	options := []string{"FORMAT TEXT"}
	if spec.JSON {
		options[0] = "FORMAT JSON"
	}
	for _, o := range spec.Options {
		options = append(options, strings.ToUpper(o))
	}
	return db.Statement{SQL: "EXPLAIN (" + strings.Join(options, ", ") + ") " + stmt.SQL, Args: stmt.Args, OneOff: true}
}

// planAllowed reports whether role may ask for plans: rest.plan_enabled (or the database's
// pgrst.db_plan_enabled), and for anon also rest.plan_anon. A plan shows table sizes, indexes
// and, with settings, server settings.
func (s *Service) planAllowed(schema *meta.Schema, role string) bool {
	enabled, set := schema.BoolSetting("db_plan_enabled")
	if !set {
		enabled = s.cfg.PlanEnabled
	}
	return enabled && (role != db.RoleAnon || s.cfg.PlanAnon)
}

// aggregatesEnabled is rest.aggregates_enabled unless the database's in-database configuration
// says otherwise (ALTER ROLE authenticator SET pgrst.db_aggregates_enabled, Supabase's way to
// turn aggregates on), which, as in PostgREST, overrides the configuration file.
func (s *Service) aggregatesEnabled(schema *meta.Schema) bool {
	if enabled, set := schema.BoolSetting("db_aggregates_enabled"); set {
		return enabled
	}
	return s.cfg.AggregatesEnabled
}

// servePlan runs the EXPLAIN of q as the caller's role and sends it.
func (s *Service) servePlan(w http.ResponseWriter, r *http.Request, scope db.RequestScope, q *Query, stmt Statement, spec *PlanSpec) error {
	opts := db.PipelineOptions{Rollback: q.prefer.Tx == "rollback"}
	switch q.kind {
	case kindRead:
		opts.ReadOnly = true
	case kindCall:
		opts.ReadOnly = q.readOnly
	}
	var body bytes.Buffer
	err := s.runner.RunInRole(r.Context(), scope, opts, []db.Statement{explainStatement(spec, stmt)}, func(_ int, rows pgx.Rows) error {
		for rows.Next() {
			line := rows.RawValues()[0]
			if body.Len() > 0 {
				body.WriteByte('\n')
			}
			body.Write(line)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", planContentType(spec))
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body.Bytes())
	return err
}
