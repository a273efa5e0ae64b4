package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/signingkeys"
)

// startSigningKeys is serve's part of the signing-key ring: private keys still sealed with
// the previous JWT secret's key are re-sealed, a new data directory's database gets its
// ES256 keys, and the ring is loaded into keys. The returned watcher keeps it current.
func startSigningKeys(ctx context.Context, pool *pgxpool.Pool, keys *security.Keys, state datadir.State, logger *slog.Logger) (*signingkeys.Watcher, error) {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		n, err := signingkeys.Reseal(ctx, tx, keys)
		if err != nil {
			return err
		}
		if n > 0 {
			logger.Info("re-encrypted signing keys with the rotated JWT secret", "resealed", n)
		}
		if state.SigningKeyAlgorithm == "" {
			return nil
		}
		seeded, err := signingkeys.Seed(ctx, tx, keys, state.SigningKeyAlgorithm)
		if seeded {
			logger.Info("generated the JWT signing keys; user access tokens are signed with " + state.SigningKeyAlgorithm)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	w := &signingkeys.Watcher{Pool: pool, Keys: keys, Logger: logger.With("component", "signingkeys")}
	// A ring that cannot be read would sign with HS256 and refuse every asymmetric token:
	// better not to start.
	if err := w.Load(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	return w, nil
}

// rotatedSigningKeys is what `keys rotate-signing-key --json` prints.
type rotatedSigningKeys struct {
	signingkeys.Rotation
	ServerRunning bool `json:"server_running"`
}

func newKeysRotateSigningCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		alg    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "rotate-signing-key [--algorithm ES256|RS256]",
		Short: "Rotate the JWT signing keys: standby → current → previous, and a new standby key",
		Long: `Rotate the asymmetric JWT signing keys. The standby key (already published in
/auth/v1/.well-known/jwks.json, so clients that cached the set know it) starts signing user
access tokens; the current key becomes previous and keeps verifying the tokens it signed until
they expire; a new standby key is generated. Without a standby key (a data directory that still
signs with the HS256 secret) a new key signs at once. --algorithm picks the new keys'
algorithm (default: the algorithm of the key that becomes current, ES256 for a first one).
Every node picks the change up within a second. Revoke the previous keys with
revoke-previous-signing-keys once their tokens have expired (or at once, after a leak).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			alg = strings.ToUpper(alg)
			if alg != "" && alg != security.AlgES256 && alg != security.AlgRS256 {
				return &exitError{code: 2, err: signingkeys.ErrUnknownAlgorithm}
			}
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, cfg config.Config) error {
				// New private keys are sealed with the JWT secret: a data directory without
				// one would make up a secret the server does not have.
				if _, err := os.Stat(filepath.Join(c.Dir.Root(), "state.json")); cfg.JWT.Secret == "" && err != nil {
					return &exitError{code: 2, err: fmt.Errorf("no JWT secret: %s has no state.json and jwt.secret is not set; run this command with the server's data directory (--data-dir) or configuration", c.Dir.Root())}
				}
				keys, err := controlKeys(cfg, c.Dir)
				if err != nil {
					return err
				}
				_, rtErr := c.Dir.ReadRuntime()
				out := rotatedSigningKeys{ServerRunning: rtErr == nil}
				err = pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) (err error) {
					out.Rotation, err = signingkeys.Rotate(ctx, tx, keys, alg, cliEntry("").Actor, audit.Client{UserAgent: cliUserAgent()})
					return err
				})
				if err != nil {
					return err
				}
				if asJSON {
					return encodeJSON(stdout, out)
				}
				fmt.Fprintf(stdout, "Rotated the signing keys. User access tokens are now signed with %s key %s.\n", out.Current.Algorithm, out.Current.ID)
				fmt.Fprintf(stdout, "Standby key: %s (%s).\n", out.Standby.ID, out.Standby.Algorithm)
				for _, k := range out.Previous {
					fmt.Fprintf(stdout, "Previous key: %s (%s), still verifies the tokens it signed.\n", k.ID, k.Algorithm)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&alg, "algorithm", "", "algorithm of the new keys: ES256 or RS256")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newKeysRevokeSigningCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "revoke-previous-signing-keys",
		Short: "Revoke the previous JWT signing keys: tokens they signed are refused everywhere",
		Long: `Revoke every previous signing key: they leave the JWKS, and every service on every
node refuses the tokens they signed (within a second). Users whose access token was signed by
one refresh their session to get a new one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, _ config.Config) error {
				var revoked []signingkeys.Key
				err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) (err error) {
					revoked, err = signingkeys.RevokePrevious(ctx, tx, cliEntry("").Actor, audit.Client{UserAgent: cliUserAgent()})
					return err
				})
				if err != nil {
					return err
				}
				if asJSON {
					return encodeJSON(stdout, map[string]any{"revoked": revoked})
				}
				fmt.Fprintf(stdout, "Revoked %d previous signing key(s).\n", len(revoked))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newKeysListSigningCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "signing-keys [--all]",
		Short: "List the JWT signing keys (current, standby, previous; --all adds revoked ones)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, _ config.Config) error {
				keys, err := signingkeys.List(ctx, c.Pool, all)
				if err != nil {
					return err
				}
				if asJSON {
					return encodeJSON(stdout, map[string]any{"signing_keys": keys})
				}
				if len(keys) == 0 {
					fmt.Fprintln(stdout, "No signing keys: user access tokens are signed with the HS256 JWT secret (goforward keys rotate-signing-key moves to ES256).")
					return nil
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tALGORITHM\tSTATUS\tCREATED")
				for _, k := range keys {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.Status, localTime(k.CreatedAt))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include revoked keys")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}
