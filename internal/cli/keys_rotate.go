package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/signingkeys"
)

// defaultRotationGrace is how long tokens of the replaced secret stay valid: long enough for
// every access token to be refreshed and for clients to take the new anon key.
const defaultRotationGrace = 24 * time.Hour

// rotated is what `keys rotate-jwt-secret --json` prints.
type rotated struct {
	AnonKey        string            `json:"anon_key"`
	ServiceRoleKey string            `json:"service_role_key"`
	GraceUntil     time.Time         `json:"previous_secret_valid_until"`
	ServerRunning  bool              `json:"server_running"`
	MFA            *auth.Reencrypted `json:"mfa_secrets,omitempty"`
}

func newKeysRotateCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		grace  time.Duration
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "rotate-jwt-secret [--grace 24h]",
		Short: "Replace the JWT secret; old sessions and keys keep working through a grace period",
		Long: `Replace the data directory's JWT secret with a new random one and re-sign the legacy
anon and service-role keys (printed here; hand them to your clients). Tokens signed with the
old secret (users' sessions, the old anon and service-role keys) are accepted until the grace
period ends. TOTP secrets, encrypted with a key derived from the JWT secret, are re-encrypted
with the new one, so MFA keeps working: right away when no server runs, else when the server
restarts (restart it now: until then it signs with the old secret). The grace period counts
from now. A secret set in the configuration (jwt.secret, JWT_SECRET) is rotated there instead:
set the new one and move the old one to jwt.previous_secret (with
jwt.previous_secret_valid_until) on every node.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grace < 0 {
				return &exitError{code: 2, err: errors.New("--grace must not be negative")}
			}
			cfg, err := loadConfig(cmd, g, nil)
			if err != nil {
				return err
			}
			if cfg.JWT.Secret != "" {
				return &exitError{code: 2, err: errors.New("the JWT secret comes from the configuration (jwt.secret or JWT_SECRET): rotate it there on every node, " +
					"moving the old value to jwt.previous_secret with jwt.previous_secret_valid_until (docs/apikeys.md); this command rotates the data directory's own secret only")}
			}
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, cfg config.Config) error {
				_, rtErr := c.Dir.ReadRuntime()
				running := rtErr == nil
				now := time.Now()
				st, err := c.Dir.RotateJWTSecret(now, grace)
				if err != nil {
					return err
				}
				keys, _, err := nodeKeys(cfg, st)
				if err != nil {
					return err
				}
				out := rotated{AnonKey: keys.AnonKey(), ServiceRoleKey: keys.ServiceRoleKey(), GraceUntil: time.Unix(st.PreviousJWTSecretValidUntil, 0).UTC(), ServerRunning: running}
				err = pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
					e := cliEntry("jwt_secret.rotate")
					e.Severity = audit.Warning
					e.ResourceType = "jwt_secret"
					e.Details["previous_secret_valid_until"] = out.GraceUntil
					e.Details["server_running"] = running
					// A running server still seals with the old key: re-sealing now would
					// lock its users out until it restarts, and its start re-seals anyway.
					if !running {
						res, err := auth.ReencryptMFASecrets(ctx, tx, keys)
						if err != nil {
							return err
						}
						out.MFA = &res
						e.Details["mfa_secrets_resealed"] = res.Resealed
						// The signing keys' private keys are sealed the same way.
						n, err := signingkeys.Reseal(ctx, tx, keys)
						if err != nil {
							return err
						}
						e.Details["signing_keys_resealed"] = n
					}
					return audit.Record(ctx, tx, e)
				})
				if err != nil {
					return fmt.Errorf("the new secret is saved, but finishing the rotation failed (the next start of the server re-encrypts the TOTP secrets): %w", err)
				}
				if asJSON {
					return encodeJSON(stdout, out)
				}
				fmt.Fprintf(stdout, "Rotated the JWT secret. Tokens signed with the old one are accepted until %s.\n\n", localTime(out.GraceUntil))
				fmt.Fprintf(stdout, "  anon key:         %s\n  service_role key: %s\n\n", out.AnonKey, out.ServiceRoleKey)
				if running {
					fmt.Fprintln(stdout, "The server is running with the old secret: restart it now. It re-encrypts TOTP secrets as it starts.")
				} else if out.MFA != nil {
					fmt.Fprintf(stdout, "Re-encrypted %d TOTP secret(s).\n", out.MFA.Resealed)
				}
				if out.MFA != nil && out.MFA.Unreadable > 0 {
					fmt.Fprintf(stdout, "%d TOTP secret(s) opened with neither secret (changed by hand earlier): those users must enrol again.\n", out.MFA.Unreadable)
				}
				return nil
			})
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", defaultRotationGrace, "how long tokens signed with the old secret stay valid")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

// resealMFASecrets is serve's half of a rotation: while a previous secret is known, TOTP
// secrets still sealed with its key are re-sealed with the current one at every start.
func resealMFASecrets(ctx context.Context, pool *pgxpool.Pool, keys *security.Keys, logger *slog.Logger) error {
	if !keys.HasPreviousSecret() {
		return nil
	}
	var res auth.Reencrypted
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) (err error) {
		res, err = auth.ReencryptMFASecrets(ctx, tx, keys)
		return err
	})
	if err != nil {
		return fmt.Errorf("re-encrypt TOTP secrets after the JWT secret's rotation: %w", err)
	}
	if res.Resealed > 0 || res.Unreadable > 0 {
		logger.Info("re-encrypted TOTP secrets with the rotated JWT secret", "resealed", res.Resealed, "unreadable", res.Unreadable)
	}
	return nil
}
