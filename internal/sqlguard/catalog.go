package sqlguard

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5"
)

//go:embed sql/volatility.sql
var volatilitySQL string

// Querier is what Catalog needs of a connection: *pgxpool.Pool, *pgx.Conn and pgx.Tx have it.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Catalog answers volatility from pg_proc. Unqualified names are resolved on the search path
// of the connection it is given, so give it a connection (or transaction) with the search
// path the SQL will run with.
type Catalog struct {
	q Querier
}

var _ FunctionCatalog = (*Catalog)(nil)

// NewCatalog returns a Catalog querying q.
func NewCatalog(q Querier) *Catalog { return &Catalog{q: q} }

// Volatility implements FunctionCatalog.
func (c *Catalog) Volatility(ctx context.Context, schema, name string) (Volatility, error) {
	var v string
	if err := c.q.QueryRow(ctx, volatilitySQL, schema, name).Scan(&v); err != nil {
		return VolatilityUnknown, fmt.Errorf("sqlguard: look up function %s: %w", name, err)
	}
	if v == "" {
		return VolatilityUnknown, nil
	}
	return Volatility(v[0]), nil
}
