package goforward

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/db"
)

// Database is the server's PostgreSQL, for code running inside serve: function endpoints,
// routes and hooks.
type Database interface {
	// Owner is the database owner's pool (database.url's user, or WithPool's pool). Its SQL
	// bypasses row-level security: use it for the application's own bookkeeping, never
	// with a caller's input as the only guard.
	Owner() *pgxpool.Pool
	// InRole runs fn in a transaction switched into p's role with p's claims published as
	// request.jwt.claims, exactly as a REST request by the same caller runs: row-level
	// security applies, auth.uid() and auth.jwt() answer for p, the role's statement timeout
	// holds. Only anon, authenticated and service_role are accepted. fn's error rolls the
	// transaction back and is returned.
	InRole(ctx context.Context, p Principal, fn func(pgx.Tx) error) error
}

// DB returns the database of the running server, or nil before serve has opened it: it is
// there from OnBootstrap on, and in every function endpoint and route.
func (a *App) DB() Database {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.db == nil {
		return nil
	}
	return a.db
}

type database struct {
	owner  *pgxpool.Pool
	runner *db.RoleRunner
}

func (d *database) Owner() *pgxpool.Pool { return d.owner }

func (d *database) InRole(ctx context.Context, p Principal, fn func(pgx.Tx) error) error {
	if p.Role == "" {
		return errors.New("goforward: InRole: the principal has no role")
	}
	scope := db.RequestScope{Role: p.Role}
	if p.Claims != nil {
		claims, err := json.Marshal(p.Claims)
		if err != nil {
			return err
		}
		scope.Claims = claims
	}
	return d.runner.InRole(ctx, scope, fn)
}
