package cli

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// authenticatorPool opens the request pool next to an embedding program's owner pool: the
// same server and settings, logged in as authenticator. The owner pool may have been built
// from a pgxpool.Config rather than a connection string, so it is derived from the config.
func authenticatorPool(ctx context.Context, owner *pgxpool.Pool, password string) (*pgxpool.Pool, error) {
	cfg := owner.Config()
	cfg.ConnConfig.User = "authenticator"
	cfg.ConnConfig.Password = password
	params := map[string]string{}
	for k, v := range cfg.ConnConfig.RuntimeParams {
		params[k] = v
	}
	params["application_name"] = "goforward"
	cfg.ConnConfig.RuntimeParams = params
	// The owner pool's hooks belong to the program and may assume the owner's role.
	cfg.AfterConnect, cfg.PrepareConn, cfg.AfterRelease, cfg.BeforeConnect = nil, nil, nil, nil
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect as authenticator: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect as authenticator: %w", err)
	}
	return pool, nil
}
