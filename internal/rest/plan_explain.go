package rest

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/db"
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

// planAllowed reports whether role may ask for plans: rest.plan_enabled, and for anon also
// rest.plan_anon. A plan shows table sizes, indexes and, with settings, server settings.
func (s *Service) planAllowed(role string) bool {
	return s.cfg.PlanEnabled && (role != db.RoleAnon || s.cfg.PlanAnon)
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
