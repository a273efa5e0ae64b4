package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
)

func newSessionsCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "List and revoke admin sessions (/admin/v1)",
	}
	cmd.AddCommand(newSessionsListCmd(g, stdout, stderr), newSessionsRevokeCmd(g, stdout, stderr))
	return cmd
}

func newSessionsListCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		who    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [--user ID|EMAIL]",
		Short: "List the live admin sessions, emergency access included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, cfg config.Config) error {
				userID := ""
				if who != "" {
					var err error
					if userID, _, err = findUser(ctx, c.Pool, who); err != nil {
						return err
					}
				}
				list, err := adminSessions(cfg).List(ctx, c.Pool, userID)
				if err != nil {
					return err
				}
				if list == nil {
					list = []access.Session{}
				}
				if asJSON {
					return encodeJSON(stdout, list)
				}
				if len(list) == 0 {
					fmt.Fprintln(stdout, "No live admin sessions.")
					return nil
				}
				tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tADMIN\tLEVEL\tCREATED\tLAST ACTIVE\tEXPIRES\tIP")
				for _, s := range list {
					admin := s.Email
					if s.Kind == access.KindEmergency {
						admin = "(emergency) " + s.Reason
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Kind, dash(admin), s.Level,
						localTime(s.CreatedAt), localTime(s.LastActiveAt), localTime(s.ExpiresAt), dash(s.IP))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&who, "user", "", "only this user's sessions (id or e-mail address)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

// sessionsRevoked is what `sessions revoke --json` prints.
type sessionsRevoked struct {
	Scope   string `json:"scope"` // "admins" or "user"
	UserID  string `json:"user_id,omitempty"`
	Email   string `json:"email,omitempty"`
	Revoked int64  `json:"revoked"`
}

func newSessionsRevokeCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		admins bool
		who    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "revoke (--admins | --user ID|EMAIL)",
		Short: "End admin sessions at once: every one (--admins) or one user's (--user)",
		Long: `End admin sessions at once. --admins ends every live admin session, emergency access
included (after a suspected compromise, say); --user ends the sessions of one admin, named by
user id or e-mail address. Requests made with an ended session are refused from then on. The
operator at the command line needs no session, so this never locks you out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if admins == (who != "") {
				return &exitError{code: 2, err: errors.New("say whose sessions to end: --admins (every admin session) or --user ID|EMAIL (one admin's)")}
			}
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, cfg config.Config) error {
				res, err := revokeSessions(ctx, c, cfg, admins, who)
				if err != nil {
					return err
				}
				if asJSON {
					return encodeJSON(stdout, res)
				}
				if res.Scope == "admins" {
					fmt.Fprintf(stdout, "Revoked %d admin session(s).\n", res.Revoked)
				} else {
					fmt.Fprintf(stdout, "Revoked %d admin session(s) of %s (%s).\n", res.Revoked, dash(res.Email), res.UserID)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&admins, "admins", false, "end every live admin session, emergency access included")
	cmd.Flags().StringVar(&who, "user", "", "end the sessions of this user (id or e-mail address)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

// revokeSessions ends the sessions and audits it in the same transaction.
func revokeSessions(ctx context.Context, c *controlDB, cfg config.Config, admins bool, who string) (sessionsRevoked, error) {
	var res sessionsRevoked
	sessions := adminSessions(cfg)
	const why = "revoked from the command line"
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		e := cliEntry("admin.sessions.revoke")
		e.Severity = audit.Warning
		e.ResourceType = "admin_session"
		var err error
		if admins {
			res.Scope = "admins"
			res.Revoked, err = sessions.RevokeAll(ctx, tx, "", why)
			e.Details["scope"] = "all"
		} else {
			res.Scope = "user"
			if res.UserID, res.Email, err = findUser(ctx, tx, who); err != nil {
				return err
			}
			res.Revoked, err = sessions.RevokeUser(ctx, tx, res.UserID, why)
			e.ResourceType, e.ResourceID = "user", res.UserID
			e.Details["scope"] = "user"
			e.Details["email"] = res.Email
		}
		if err != nil {
			return err
		}
		e.Details["revoked"] = res.Revoked
		return audit.Record(ctx, tx, e)
	})
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return res, err
		}
		return res, fmt.Errorf("revoke admin sessions: %w", err)
	}
	return res, nil
}

// findUser resolves a user named by id or e-mail address (auth stores addresses lower-cased,
// so any case matches), returning its id and address.
func findUser(ctx context.Context, q access.Querier, who string) (id, email string, err error) {
	who = strings.TrimSpace(who)
	query := `SELECT id::text, coalesce(email, '') FROM auth.users WHERE email = lower($1) AND NOT is_sso_user`
	if parsed, perr := uuid.Parse(who); perr == nil {
		who = parsed.String()
		query = `SELECT id::text, coalesce(email, '') FROM auth.users WHERE id = $1`
	}
	err = q.QueryRow(ctx, query, who).Scan(&id, &email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", &exitError{code: 1, err: fmt.Errorf("no user %q: give a user id or e-mail address (goforward sessions list shows whose sessions are live)", who)}
	}
	if err != nil {
		return "", "", fmt.Errorf("find user %q: %w", who, err)
	}
	return id, email, nil
}
