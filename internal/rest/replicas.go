package rest

import (
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/db"
)

// ReadReplicas lends read-only requests the runner of a streaming replica that keeps up
// with the primary (db.Replicas).
type ReadReplicas interface {
	// Runner returns a usable replica's runner, or nil to use the primary.
	Runner() *db.RoleRunner
	// Failed takes runner's replica out of use; the request is then run on the primary.
	Failed(runner *db.RoleRunner)
}

// replicaFor returns the replica runner a request may run on, or nil. Only GET and HEAD of a
// table or view qualify: they run one read-only statement, with no write before it in the
// request. Functions stay on the primary even when called with GET (one marked STABLE may
// still write through another it calls), and so does a read whose transaction must stay open
// for the audit log.
func (s *Service) replicaFor(r *http.Request, q *Query, x *exchange) *db.RoleRunner {
	if s.replicas == nil || q.kind != kindRead || x.audited {
		return nil
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil
	}
	return s.replicas.Runner()
}

// replicaUnusable reports whether a read failed because of the replica rather than the
// request, so that the primary may answer it instead: the replica could not be reached or
// went away before answering, or it cancelled the query to replay WAL (a recovery conflict).
// answered: results had begun to arrive, so an error that is not the server's is the
// request's own (a result the request refuses).
func replicaUnusable(ctx context.Context, err error, answered bool) bool {
	if ctx.Err() != nil {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return !answered
	}
	switch pgErr.Code {
	case "40001", // serialization_failure: canceling statement due to conflict with recovery
		"57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
		"08000", "08003", "08006": // connection exceptions
		return true
	}
	return false
}
