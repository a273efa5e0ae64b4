package cli

import (
	"context"
	"log/slog"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/db"
)

// openReplicas connects to database.read_replicas, as the authenticator like the request
// pool (or, when requests share the owner's connection, with the URLs' own credentials).
// Nil when none is configured.
func openReplicas(ctx context.Context, cfg config.Config, d *database, state datadir.State, logger *slog.Logger) (*db.Replicas, error) {
	if len(cfg.Database.ReadReplicas) == 0 {
		return nil, nil
	}
	password := cfg.Database.AuthenticatorPassword
	if password == "" && d.managed != nil {
		password = state.AuthenticatorPassword
	}
	if d.ownerRequests {
		password = ""
	}
	return db.OpenReplicas(ctx, d.admin, db.ReplicaConfig{
		URLs:                  cfg.Database.ReadReplicas,
		AuthenticatorPassword: password,
		MaxLag:                cfg.Database.MaxReplicaLag,
		Pool:                  db.PoolConfig{MaxConns: cfg.Database.MaxConns, ConnectTimeout: cfg.Database.ConnectTimeout},
		Runner: db.RunnerConfig{Timeouts: db.StatementTimeouts{
			Anon:          cfg.Database.StatementTimeout.Anon,
			Authenticated: cfg.Database.StatementTimeout.Authenticated,
			ServiceRole:   cfg.Database.StatementTimeout.ServiceRole,
		}},
		Logger: logger.With("component", "replicas"),
	})
}
