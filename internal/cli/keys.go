package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/security"
)

// newKeysCmd is `goforward keys`: the publishable and secret API keys, and the JWT secret the
// legacy keys are signed with.
func newKeysCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage API keys (create, list, revoke), rotate the JWT secret and the JWT signing keys",
		Long: `Manage API keys beside the legacy anon and service-role JWT keys: publishable keys
(gf_pub_…) act as the anon role, secret keys (gf_sec_…) as service_role limited to their scopes.
A key is shown once, when it is created; only its hash is stored. Revoking a key takes effect
on every node within a second. These commands work whether or not the server runs; every
change is written to the audit log.`,
	}
	cmd.AddCommand(
		newKeysCreateCmd(g, stdout, stderr),
		newKeysListCmd(g, stdout, stderr),
		newKeysRevokeCmd(g, stdout, stderr),
		newKeysRotateCmd(g, stdout, stderr),
		newKeysListSigningCmd(g, stdout, stderr),
		newKeysRotateSigningCmd(g, stdout, stderr),
		newKeysRevokeSigningCmd(g, stdout, stderr),
	)
	return cmd
}

func newKeysCreateCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		name, kind string
		services   []string
		tables     []string
		expiresIn  time.Duration
		expiresAt  string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME --kind publishable|secret [--service S]... [--table SCHEMA.TABLE]... [--expires-in D | --expires-at T]",
		Short: "Create an API key and print it (the only time it is shown)",
		Long: `Create an API key. --service limits it to services (` + strings.Join(apikeys.KnownServices(), ", ") + `),
--table limits what REST reaches with it (schema.table or schema.*; embedded tables and
junctions must be listed too). Without them the key reaches everything its role does.
The key is printed once: store it now.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := apikeys.NewKey{Name: name, Kind: kind, Scopes: security.KeyScope{Services: services, Tables: tables}}
			switch {
			case expiresIn != 0 && expiresAt != "":
				return &exitError{code: 2, err: errors.New("give --expires-in or --expires-at, not both")}
			case expiresIn < 0:
				return &exitError{code: 2, err: errors.New("--expires-in must be positive")}
			case expiresIn > 0:
				at := time.Now().Add(expiresIn).UTC()
				n.ExpiresAt = &at
			case expiresAt != "":
				at, err := time.Parse(time.RFC3339, expiresAt)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--expires-at: give a time like 2030-01-02T15:04:05Z: %w", err)}
				}
				n.ExpiresAt = &at
			}
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, _ config.Config) error {
				var created apikeys.Created
				err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) (err error) {
					created, err = apikeys.Create(ctx, tx, n, access.CLI().Actor(), audit.Client{UserAgent: cliUserAgent()})
					return err
				})
				if err != nil {
					return keysError(err)
				}
				if asJSON {
					return encodeJSON(stdout, created)
				}
				fmt.Fprintf(stdout, "Created %s key %q (%s).\n\n  %s\n\nStore it now: it is not shown again, only its hash is kept.\n",
					created.Kind, created.Name, created.ID, created.APIKey)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the key (unique among live keys)")
	cmd.Flags().StringVar(&kind, "kind", "", "publishable (acts as anon) or secret (acts as service_role)")
	cmd.Flags().StringSliceVar(&services, "service", nil, "limit the key to this service (repeatable)")
	cmd.Flags().StringSliceVar(&tables, "table", nil, "limit REST to this table, schema.table or schema.* (repeatable)")
	cmd.Flags().DurationVar(&expiresIn, "expires-in", 0, "the key expires after this long (e.g. 720h)")
	cmd.Flags().StringVar(&expiresAt, "expires-at", "", "the key expires at this time (RFC 3339)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newKeysListCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--all]",
		Short: "List the API keys (never the keys themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, _ config.Config) error {
				keys, err := apikeys.List(ctx, c.Pool, all)
				if err != nil {
					return err
				}
				if keys == nil {
					keys = []apikeys.Key{}
				}
				if asJSON {
					return encodeJSON(stdout, keys)
				}
				if len(keys) == 0 {
					fmt.Fprintln(stdout, "No API keys. Create one with: goforward keys create --name NAME --kind publishable|secret")
					return nil
				}
				tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tKIND\tPREFIX\tSCOPES\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
				for _, k := range keys {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Kind, k.Prefix, scopeText(k.Scopes),
						localTime(k.CreatedAt), optionalTime(k.LastUsedAt), optionalTime(k.ExpiresAt), optionalTime(k.RevokedAt))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include revoked keys")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func newKeysRevokeCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "revoke ID|NAME|PREFIX",
		Short: "Revoke an API key: every node refuses it within a second",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, _ config.Config) error {
				var k apikeys.Key
				err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
					found, err := apikeys.Find(ctx, tx, args[0])
					if err != nil {
						return err
					}
					k, err = apikeys.Revoke(ctx, tx, found.ID, access.CLI().Actor(), audit.Client{UserAgent: cliUserAgent()})
					return err
				})
				if err != nil {
					return keysError(err)
				}
				if asJSON {
					return encodeJSON(stdout, k)
				}
				fmt.Fprintf(stdout, "Revoked %s key %q (%s).\n", k.Kind, k.Name, k.ID)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

// keysError turns apikeys' refusals into what the command line says: bad input exits 2, a
// name taken or a key not found 1.
func keysError(err error) error {
	var invalid *apikeys.ValidationError
	switch {
	case errors.As(err, &invalid):
		flag := map[string]string{"scopes.services": "service", "scopes.tables": "table", "expires_at": "expires-at"}[invalid.Field]
		if flag == "" {
			flag = invalid.Field
		}
		return &exitError{code: 2, err: fmt.Errorf("--%s: %s", flag, invalid.Message)}
	case errors.Is(err, apikeys.ErrNameTaken):
		return &exitError{code: 1, err: errors.New("a live API key already has this name: revoke it or choose another")}
	case errors.Is(err, apikeys.ErrNotFound):
		return &exitError{code: 1, err: errors.New("no live API key with this id, name or prefix (goforward keys list shows them)")}
	}
	return err
}

func scopeText(s security.KeyScope) string {
	var parts []string
	if len(s.Services) > 0 {
		parts = append(parts, "services="+strings.Join(s.Services, ","))
	}
	if len(s.Tables) > 0 {
		parts = append(parts, "tables="+strings.Join(s.Tables, ","))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " ")
}

func optionalTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return localTime(*t)
}
