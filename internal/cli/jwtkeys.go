package cli

import (
	"time"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/security"
)

// nodeKeys builds the keys every part of a node signs and verifies with, as serve and the
// control commands both need them: the configured secret or the data directory's, the
// previous secret of the last rotation (jwt.previous_secret for a configured secret, the
// data directory's record for its own), and auth.legacy_keys. It also names where the
// secret came from, for error messages.
func nodeKeys(cfg config.Config, state datadir.State) (*security.Keys, string, error) {
	secret, source := state.JWTSecret, "data directory"
	opts := []security.Option{security.WithAudience(cfg.JWT.Audience)}
	if cfg.JWT.Secret != "" {
		secret, source = cfg.JWT.Secret, "configuration"
		if until, ok := cfg.JWT.PreviousSecretDeadline(); ok {
			opts = append(opts, security.WithPreviousSecret([]byte(cfg.JWT.PreviousSecret), until))
		}
	} else if state.PreviousJWTSecret != "" {
		opts = append(opts, security.WithPreviousSecret([]byte(state.PreviousJWTSecret), time.Unix(state.PreviousJWTSecretValidUntil, 0)))
	}
	if !cfg.Auth.LegacyKeys {
		opts = append(opts, security.WithoutLegacyKeys())
	}
	keys, err := security.NewKeys([]byte(secret), cfg.JWT.Issuer, time.Unix(state.KeysIssuedAt, 0), opts...)
	return keys, source, err
}
