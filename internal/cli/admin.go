package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/admin"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// control is what the `admin` and `user` commands work with: the database (whether or not
// serve runs on the data directory) and the manager the admin API's routes use too, acting
// as the operator at the command line.
type control struct {
	db      *controlDB
	manager *admin.Manager
	client  audit.Client
	p       access.Principal
}

// openControl opens the database and builds auth's user management over it, as serve does.
func openControl(cmd *cobra.Command, g *globalFlags, stderr io.Writer) (*control, error) {
	cfg, err := loadConfig(cmd, g, nil)
	if err != nil {
		return nil, err
	}
	logger := quietLogger(cfg, stderr)
	cdb, err := openControlDB(cmd.Context(), cfg, logger)
	if err != nil {
		return nil, err
	}
	keys, err := controlKeys(cfg, cdb.Dir)
	if err != nil {
		cdb.Close()
		return nil, err
	}
	users, err := newAuthService(serviceDeps{cfg: cfg, dir: cdb.Dir.Root(), keys: keys, admin: cdb.Pool, logger: logger})
	if err != nil {
		cdb.Close()
		return nil, err
	}
	return &control{
		db:      cdb,
		manager: admin.NewManager(cdb.Pool, users, adminSessions(cfg), logger),
		client:  audit.Client{UserAgent: cliUserAgent()},
		p:       access.CLI(),
	}, nil
}

func (c *control) Close() { c.db.Close() }

// inTx runs one change of the manager and turns a refusal into an error that says what to do.
func (c *control) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return cliError(c.manager.InTx(ctx, c.client, fn))
}

// controlKeys are the server's keys, from the same secret serve uses: auth encrypts TOTP
// secrets with a key derived from it.
func controlKeys(cfg config.Config, dir datadir.Dir) (*security.Keys, error) {
	state, err := dir.LoadOrCreateState()
	if err != nil {
		return nil, err
	}
	keys, _, err := nodeKeys(cfg, state)
	return keys, err
}

// cliUserAgent names the command line and the account running it in the audit log.
func cliUserAgent() string {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	if host, err := os.Hostname(); err == nil {
		who += "@" + host
	}
	return fmt.Sprintf("goforward-cli/%s (%s)", version, who)
}

// cliError turns an answer of the manager into what the command line prints: the message of a
// refusal or bad input, the whole story of an internal failure. errors.Is still finds the
// manager's sentinels in it.
func cliError(err error) error {
	var appErr *httpx.AppError
	if err == nil || !errors.As(err, &appErr) || appErr.Status >= http.StatusInternalServerError {
		return err
	}
	return &messageError{msg: appErr.Message, err: err}
}

// messageError prints as msg and unwraps to the error it stands for.
type messageError struct {
	msg string
	err error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.err }

// newAdminCmd is `goforward admin`: who administers this deployment, at which level.
func newAdminCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage administrators: create, list, set-level, revoke",
		Long: `Manage administrators. An admin is a user with a level: system_admin, super_admin,
regular_admin or moderator. These commands act as the operator of the data directory, the only
one who may create system admins; every change is written to the audit log. They work whether
or not the server runs.`,
	}
	cmd.AddCommand(
		newAdminCreateCmd(g, stdout, stderr),
		newAdminListCmd(g, stdout, stderr),
		newAdminSetLevelCmd(g, stdout, stderr),
		newAdminRevokeCmd(g, stdout, stderr),
	)
	return cmd
}

func newAdminCreateCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		email, level   string
		tables, groups []string
		passwordStdin  bool
		asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "create --email EMAIL --level LEVEL",
		Short: "Make a user an admin, creating the user when needed",
		Long: `Make the user with this address an admin. When no user has the address, one is created
(e-mail confirmed) with a password typed at the prompt, or read from standard input with
--password-stdin; it must meet the password policy. System admins are made only here.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := access.ParseLevel(level); err != nil {
				return err
			}
			password := ""
			if passwordStdin {
				var err error
				if password, err = readPasswordStdin(cmd.InOrStdin()); err != nil {
					return err
				}
			}
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			n := admin.NewAdmin{Email: email, Password: password, Level: access.Level(level), AssignedTables: tables, AssignedGroups: groups}
			create := func() (admin.Granted, error) {
				var granted admin.Granted
				err := c.inTx(cmd.Context(), func(tx pgx.Tx) (err error) {
					granted, err = c.manager.CreateAdmin(cmd.Context(), tx, c.p, c.client, n)
					return err
				})
				return granted, err
			}
			granted, err := create()
			if errors.Is(err, admin.ErrNoSuchUser) && !passwordStdin {
				// No such user: ask for the new user's password, when someone is there to type it.
				n.Password, err = askPassword(cmd.InOrStdin(), stderr,
					fmt.Sprintf("No user has the address %s yet; one will be created", email),
					fmt.Sprintf("no user has the address %s: to create one, pass its password on standard input with --password-stdin", email))
				if err != nil {
					return err
				}
				granted, err = create()
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, granted)
			}
			if granted.UserCreated {
				fmt.Fprintf(stdout, "Created the user %s (%s).\n", granted.Email, granted.UserID)
			}
			fmt.Fprintf(stdout, "%s is now a %s.\n", granted.Email, granted.Level)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the admin's e-mail address (required)")
	cmd.Flags().StringVar(&level, "level", "", "system_admin, super_admin, regular_admin or moderator (required)")
	cmd.Flags().StringSliceVar(&tables, "tables", nil, "tables (schema.table) a regular admin manages")
	cmd.Flags().StringSliceVar(&groups, "groups", nil, "user groups (app_metadata.groups) a regular admin manages")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read a new user's password from standard input")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	_ = cmd.MarkFlagRequired("email")
	_ = cmd.MarkFlagRequired("level")
	return cmd
}

func newAdminListCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the admins, highest level first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			admins, err := c.manager.ListAdmins(cmd.Context(), c.db.Pool, all)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, map[string]any{"admins": admins})
			}
			if len(admins) == 0 {
				fmt.Fprintln(stdout, "No admins yet. Create the first one with: goforward admin create --email EMAIL --level system_admin")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tLEVEL\tTABLES\tGROUPS\tGRANTED\tSTATUS\tUSER ID")
			for _, a := range admins {
				status := "active"
				if a.RevokedAt != nil {
					status = "revoked " + a.RevokedAt.Format(time.DateOnly)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s by %s\t%s\t%s\n", a.Email, a.Level, listOrDash(a.AssignedTables),
					listOrDash(a.AssignedGroups), a.GrantedAt.Format(time.DateOnly), a.GrantedVia, status, a.UserID)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include revoked admins")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newAdminSetLevelCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		level          string
		tables, groups []string
		asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "set-level USER --level LEVEL",
		Short: "Change an admin's level (and tables or groups); its sessions end",
		Long: `Change the level of the admin named by USER (an e-mail address or a user id), and with
--tables or --groups what a regular admin manages. The admin's sessions end at once. The last
active system admin cannot be demoted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ch admin.AdminChange
			if cmd.Flags().Changed("level") {
				l, err := access.ParseLevel(level)
				if err != nil {
					return err
				}
				ch.Level = &l
			}
			if cmd.Flags().Changed("tables") {
				ch.AssignedTables = &tables
			}
			if cmd.Flags().Changed("groups") {
				ch.AssignedGroups = &groups
			}
			if ch.Level == nil && ch.AssignedTables == nil && ch.AssignedGroups == nil {
				return errors.New("nothing to change: give --level, --tables or --groups")
			}
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			var a admin.Admin
			err = c.inTx(cmd.Context(), func(tx pgx.Tx) error {
				id, err := c.manager.ResolveUser(cmd.Context(), tx, args[0])
				if err != nil {
					return err
				}
				a, err = c.manager.UpdateAdmin(cmd.Context(), tx, c.p, c.client, id, ch)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, a)
			}
			fmt.Fprintf(stdout, "%s is a %s (tables: %s; groups: %s); its sessions have ended.\n", a.Email, a.Level,
				listOrDash(a.AssignedTables), listOrDash(a.AssignedGroups))
			return nil
		},
	}
	cmd.Flags().StringVar(&level, "level", "", "system_admin, super_admin, regular_admin or moderator")
	cmd.Flags().StringSliceVar(&tables, "tables", nil, "tables (schema.table) a regular admin manages; empty to clear")
	cmd.Flags().StringSliceVar(&groups, "groups", nil, "user groups a regular admin manages; empty to clear")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newAdminRevokeCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "revoke USER",
		Short: "End a user's admin grant and sessions (the user stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			var a admin.Admin
			err = c.inTx(cmd.Context(), func(tx pgx.Tx) error {
				id, err := c.manager.ResolveUser(cmd.Context(), tx, args[0])
				if err != nil {
					return err
				}
				a, err = c.manager.RevokeAdmin(cmd.Context(), tx, c.p, c.client, id)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, a)
			}
			fmt.Fprintf(stdout, "%s is no longer an admin (was %s); its sessions have ended.\n", a.Email, a.Level)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func listOrDash(list []string) string {
	if len(list) == 0 {
		return "-"
	}
	return strings.Join(list, ",")
}

// maxPasswordInput bounds what is read as a password.
const maxPasswordInput = 4096

// readPasswordStdin reads a password from standard input: everything up to the end, less one
// trailing newline.
func readPasswordStdin(in io.Reader) (string, error) {
	raw, err := io.ReadAll(io.LimitReader(in, maxPasswordInput+1))
	if err != nil {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	if len(raw) > maxPasswordInput {
		return "", errors.New("the password on standard input is too long")
	}
	password := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	if password == "" {
		return "", errors.New("--password-stdin: standard input held no password")
	}
	return password, nil
}

// askPassword asks twice, without echo, for a new password after saying why; without a
// terminal to ask on, it fails with noTerminal, which says how to pass one instead.
func askPassword(in io.Reader, prompt io.Writer, why, noTerminal string) (string, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New(noTerminal)
	}
	fmt.Fprintf(prompt, "%s.\n", why)
	read := func(label string) (string, error) {
		fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		return string(b), err
	}
	first, err := read("New password: ")
	if err != nil {
		return "", err
	}
	second, err := read("Repeat the password: ")
	if err != nil {
		return "", err
	}
	switch {
	case first != second:
		return "", errors.New("the passwords do not match")
	case first == "":
		return "", errors.New("the password is empty")
	}
	return first, nil
}

// newPassword reads a new password: from standard input with --password-stdin, else at the
// prompt.
func newPassword(in io.Reader, prompt io.Writer, fromStdin bool, why string) (string, error) {
	if fromStdin {
		return readPasswordStdin(in)
	}
	return askPassword(in, prompt, why, why+": pass the password on standard input with --password-stdin")
}
