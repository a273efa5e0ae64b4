package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
)

// newUserCmd is `goforward user`: the user management of the admin API, from the command
// line, with the same rules and audit entries (acting as the operator, who manages every user).
func newUserCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage users: list, create, ban, unban, unlock, delete, reset-password",
		Long: `Manage the users of auth (auth.users), as the admin API does: USER is an e-mail address or
a user id. Every change is written to the audit log. These commands work whether or not the
server runs.`,
	}
	cmd.AddCommand(
		newUserListCmd(g, stdout, stderr),
		newUserCreateCmd(g, stdout, stderr),
		newUserBanCmd(g, stdout, stderr),
		newUserChangeCmd(g, stdout, stderr, "unban", "Lift a user's ban", "user.unban"),
		newUserChangeCmd(g, stdout, stderr, "unlock", "Clear a user's sign-in lockout after too many wrong passwords", "user.unlock"),
		newUserDeleteCmd(g, stdout, stderr),
		newUserResetPasswordCmd(g, stdout, stderr),
	)
	return cmd
}

// userSummary is what the human output shows of a user.
type userSummary struct {
	ID           string     `json:"id"`
	Email        string     `json:"email"`
	Phone        string     `json:"phone"`
	CreatedAt    time.Time  `json:"created_at"`
	LastSignInAt *time.Time `json:"last_sign_in_at"`
	BannedUntil  *time.Time `json:"banned_until"`
}

func (u userSummary) name() string {
	if u.Email != "" {
		return u.Email
	}
	if u.Phone != "" {
		return u.Phone
	}
	return u.ID
}

func newUserListCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		filter        string
		page, perPage int
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
			if filter != "" {
				q.Set("filter", filter)
			}
			raw, err := c.manager.ListUsers(cmd.Context(), c.p, q)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					return err
				}
				return printJSON(stdout, v)
			}
			var list struct {
				Users []userSummary `json:"users"`
				Total int           `json:"total"`
				Page  int           `json:"page"`
			}
			if err := json.Unmarshal(raw, &list); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEMAIL\tPHONE\tCREATED\tLAST SIGN-IN\tBANNED UNTIL")
			for _, u := range list.Users {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, dash(u.Email), dash(u.Phone), u.CreatedAt.Format(time.DateOnly),
					dateOrDash(u.LastSignInAt), dateOrDash(u.BannedUntil))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d of %d users (page %d)\n", len(list.Users), list.Total, list.Page)
			return nil
		},
	}
	cmd.Flags().StringVar(&filter, "filter", "", "only users whose e-mail, phone or full name contains this")
	cmd.Flags().IntVar(&page, "page", 1, "page to show")
	cmd.Flags().IntVar(&perPage, "per-page", 50, "users per page (at most 1000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newUserCreateCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		email, phone              string
		groups                    []string
		passwordStdin, noPassword bool
		unconfirmed, asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "create --email EMAIL",
		Short: "Create a user (e-mail confirmed) with a password",
		Long: `Create a user with an e-mail address and/or phone number, confirmed unless --unconfirmed.
The password is typed at the prompt or read from standard input with --password-stdin, and must
meet the password policy; with --no-password the user signs in by one-time code or recovery.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" && phone == "" {
				return fmt.Errorf("give the user's --email or --phone")
			}
			body := map[string]any{"email": email, "phone": phone, "email_confirm": !unconfirmed && email != "",
				"phone_confirm": !unconfirmed && phone != ""}
			if len(groups) > 0 {
				body["app_metadata"] = map[string]any{"groups": groups}
			}
			if !noPassword {
				password, err := newPassword(cmd.InOrStdin(), stderr, passwordStdin, "The new user needs a password (or --no-password)")
				if err != nil {
					return err
				}
				body["password"] = password
			}
			raw, err := json.Marshal(body)
			if err != nil {
				return err
			}
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			var created json.RawMessage
			err = c.inTx(cmd.Context(), func(tx pgx.Tx) (err error) {
				created, err = c.manager.CreateUser(cmd.Context(), tx, c.p, c.client, raw)
				return err
			})
			if err != nil {
				return err
			}
			return printUser(stdout, created, asJSON, "Created the user %s (%s).\n")
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the user's e-mail address")
	cmd.Flags().StringVar(&phone, "phone", "", "the user's phone number")
	cmd.Flags().StringSliceVar(&groups, "groups", nil, "user groups (app_metadata.groups)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&noPassword, "no-password", false, "create the user without a password")
	cmd.Flags().BoolVar(&unconfirmed, "unconfirmed", false, "leave the address unconfirmed")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	cmd.MarkFlagsMutuallyExclusive("password-stdin", "no-password")
	return cmd
}

func newUserBanCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		duration string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "ban USER",
		Short: "Ban a user: every sign-in and refresh is refused until the ban ends",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			var u json.RawMessage
			err = c.inTx(cmd.Context(), func(tx pgx.Tx) error {
				id, err := c.manager.ResolveUser(cmd.Context(), tx, args[0])
				if err != nil {
					return err
				}
				u, err = c.manager.BanUser(cmd.Context(), tx, c.p, c.client, id, duration)
				return err
			})
			if err != nil {
				return err
			}
			return printUser(stdout, u, asJSON, "Banned %s (%s).\n")
		},
	}
	cmd.Flags().StringVar(&duration, "duration", "forever", `how long: a duration such as "24h" or "90m", or "forever"`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}

// newUserChangeCmd builds the commands that take just a user: unban, unlock.
func newUserChangeCmd(g *globalFlags, stdout, stderr io.Writer, name, short, action string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   name + " USER",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			var result any
			var message string
			err = c.inTx(cmd.Context(), func(tx pgx.Tx) error {
				id, err := c.manager.ResolveUser(cmd.Context(), tx, args[0])
				if err != nil {
					return err
				}
				switch action {
				case "user.unban":
					u, err := c.manager.UnbanUser(cmd.Context(), tx, c.p, c.client, id)
					result, message = u, fmt.Sprintf("%s may sign in again.", args[0])
					return err
				default:
					n, err := c.manager.UnlockUser(cmd.Context(), tx, c.p, c.client, id)
					result = map[string]any{"user_id": id, "records_cleared": n}
					message = fmt.Sprintf("Cleared the sign-in lockout of %s (%d records).", args[0], n)
					return err
				}
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, result)
			}
			fmt.Fprintln(stdout, message)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newUserDeleteCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var soft, asJSON bool
	cmd := &cobra.Command{
		Use:   "delete USER",
		Short: "Delete a user (an admin's grant ends with it)",
		Long: `Delete the user and everything of theirs in auth (identities, sessions, factors). With
--soft the row stays for the application's references, stripped of addresses, password and
metadata. The last active system admin cannot be deleted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			var id string
			err = c.inTx(cmd.Context(), func(tx pgx.Tx) error {
				if id, err = c.manager.ResolveUser(cmd.Context(), tx, args[0]); err != nil {
					return err
				}
				return c.manager.DeleteUser(cmd.Context(), tx, c.p, c.client, id, soft)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, map[string]any{"user_id": id, "deleted": true, "soft": soft})
			}
			fmt.Fprintf(stdout, "Deleted the user %s (%s).\n", args[0], id)
			return nil
		},
	}
	cmd.Flags().BoolVar(&soft, "soft", false, "keep the row, stripped")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newUserResetPasswordCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var passwordStdin, asJSON bool
	cmd := &cobra.Command{
		Use:   "reset-password USER",
		Short: "Set a user's password; their sessions end",
		Long: `Set a new password for the user, typed at the prompt or read from standard input with
--password-stdin. It must meet the password policy. Every session of the user ends (an admin's
admin sessions too).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := newPassword(cmd.InOrStdin(), stderr, passwordStdin, "New password for "+args[0])
			if err != nil {
				return err
			}
			body, err := json.Marshal(map[string]any{"password": password})
			if err != nil {
				return err
			}
			c, err := openControl(cmd, g, stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			var u json.RawMessage
			err = c.inTx(cmd.Context(), func(tx pgx.Tx) error {
				id, err := c.manager.ResolveUser(cmd.Context(), tx, args[0])
				if err != nil {
					return err
				}
				u, err = c.manager.UpdateUser(cmd.Context(), tx, c.p, c.client, id, body)
				return err
			})
			if err != nil {
				return err
			}
			return printUser(stdout, u, asJSON, "Set a new password for %s (%s); their sessions have ended.\n")
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}

// printUser prints a user as JSON, or format filled with its name and id.
func printUser(w io.Writer, raw json.RawMessage, asJSON bool, format string) error {
	if asJSON {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		return printJSON(w, v)
	}
	var u userSummary
	if err := json.Unmarshal(raw, &u); err != nil {
		return err
	}
	fmt.Fprintf(w, format, u.name(), u.ID)
	return nil
}

func dateOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.DateOnly)
}
