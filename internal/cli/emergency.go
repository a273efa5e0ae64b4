package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
)

// Bounds of an emergency session's life. It is a break-glass credential with system
// capabilities and no person behind it, so it must end by itself soon.
const (
	maxEmergencyDuration     = 4 * time.Hour
	minEmergencyDuration     = time.Minute
	defaultEmergencyDuration = 30 * time.Minute
	maxEmergencyReason       = 1000
)

// emergencyGrant is what `emergency-access --json` prints: the session and its token, which
// exists only in this output.
type emergencyGrant struct {
	ID           string              `json:"id"`
	Token        string              `json:"token"`
	Kind         access.Kind         `json:"kind"`
	Level        access.Level        `json:"level"`
	Capabilities access.Capabilities `json:"capabilities"`
	Reason       string              `json:"reason"`
	CreatedAt    time.Time           `json:"created_at"`
	ExpiresAt    time.Time           `json:"expires_at"`
	AlertID      int64               `json:"alert_id"`
}

func newEmergencyAccessCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		reason   string
		duration time.Duration
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "emergency-access",
		Short: "Issue a short-lived admin session with system capabilities (break glass)",
		Long: `Issue a one-time admin session with system capabilities, for when no admin can sign in.
It needs no user, ends by itself after --duration (at most 4h), and is recorded as a critical
audit entry and a security alert. The token is printed once; send it as
"Authorization: Bearer <token>" to /admin/v1. End it early with "emergency-access revoke".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reason = strings.TrimSpace(reason)
			if err := checkEmergencyRequest(reason, duration); err != nil {
				return err
			}
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, cfg config.Config) error {
				grant, err := grantEmergencyAccess(ctx, c, cfg, reason, duration)
				if err != nil {
					return err
				}
				if asJSON {
					return encodeJSON(stdout, grant)
				}
				printEmergencyGrant(stdout, grant)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why emergency access is needed (required; goes to the audit log and the alert)")
	cmd.Flags().DurationVar(&duration, "duration", defaultEmergencyDuration, "how long the session lives, at most 4h")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	cmd.AddCommand(newEmergencyListCmd(g, stdout, stderr), newEmergencyRevokeCmd(g, stdout, stderr))
	return cmd
}

func checkEmergencyRequest(reason string, d time.Duration) error {
	switch {
	case reason == "":
		return &exitError{code: 2, err: errors.New(`--reason is required: say why emergency access is needed, e.g. --reason "every system admin is locked out"; it goes to the audit log and the security alert`)}
	case len(reason) > maxEmergencyReason:
		return &exitError{code: 2, err: fmt.Errorf("--reason is %d characters long: keep it under %d", len(reason), maxEmergencyReason)}
	case d > maxEmergencyDuration:
		return &exitError{code: 2, err: fmt.Errorf("--duration %s is too long: emergency access lasts at most 4h; issue a new one if you need more time", d)}
	case d < minEmergencyDuration:
		return &exitError{code: 2, err: fmt.Errorf("--duration %s is too short: give at least 1m, e.g. --duration 30m", d)}
	}
	return nil
}

// grantEmergencyAccess opens the session, its critical audit entry and the security alert in
// one transaction: there is no emergency session that the log and the alerts do not show.
func grantEmergencyAccess(ctx context.Context, c *controlDB, cfg config.Config, reason string, d time.Duration) (emergencyGrant, error) {
	var grant emergencyGrant
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		opened, err := adminSessions(cfg).Create(ctx, tx, access.NewSession{
			Kind: access.KindEmergency, Level: access.SystemAdmin, Capabilities: access.For(access.SystemAdmin, nil, nil),
			Reason: reason, Lifetime: d, UserAgent: cliUserAgent(),
		})
		if err != nil {
			return err
		}
		e := cliEntry("admin.emergency_access.create")
		e.Severity = audit.Critical
		e.ResourceType, e.ResourceID = "admin_session", opened.ID
		e.Details["reason"] = reason
		e.Details["duration"] = d.String()
		e.Details["expires_at"] = opened.ExpiresAt
		if err := audit.Record(ctx, tx, e); err != nil {
			return err
		}
		message := fmt.Sprintf("Emergency access (system capabilities) issued from the command line until %s: %s",
			opened.ExpiresAt.Format(time.RFC3339), reason)
		// The entry was written in this transaction, so currval names it.
		if err := tx.QueryRow(ctx, `INSERT INTO goforward.security_alerts (first_seen, last_seen, severity, rule, subject, message, details, audit_entry_id)
VALUES ($1, $1, 'critical', 'emergency_access', $2, $3, $4, currval(pg_get_serial_sequence('goforward.audit_log', 'id')))
RETURNING id`, opened.CreatedAt, opened.ID, message, e.Details).Scan(&grant.AlertID); err != nil {
			return fmt.Errorf("raise the emergency access alert: %w", err)
		}
		grant = emergencyGrant{
			ID: opened.ID, Token: opened.Token, Kind: opened.Kind, Level: opened.Level, Capabilities: opened.Capabilities,
			Reason: reason, CreatedAt: opened.CreatedAt, ExpiresAt: opened.ExpiresAt, AlertID: grant.AlertID,
		}
		return nil
	})
	if err != nil {
		return emergencyGrant{}, fmt.Errorf("issue emergency access: %w", err)
	}
	return grant, nil
}

func printEmergencyGrant(w io.Writer, g emergencyGrant) {
	fmt.Fprintf(w, "Emergency access granted: system admin capabilities until %s (%s).\n",
		g.ExpiresAt.Local().Format(time.DateTime+" MST"), g.ExpiresAt.Sub(g.CreatedAt).Round(time.Second))
	fmt.Fprintf(w, "Recorded in the audit log (critical) and raised security alert %d.\n\n", g.AlertID)
	fmt.Fprintf(w, "  session  %s\n  reason   %s\n\n", g.ID, g.Reason)
	fmt.Fprintln(w, "Token (shown only now; send it as \"Authorization: Bearer <token>\" to /admin/v1):")
	fmt.Fprintf(w, "%s\n\n", g.Token)
	fmt.Fprintf(w, "End it as soon as you are done: goforward emergency-access revoke %s\n", g.ID)
}

func newEmergencyListCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the emergency sessions that are still live",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, cfg config.Config) error {
				all, err := adminSessions(cfg).List(ctx, c.Pool, "")
				if err != nil {
					return err
				}
				live := []access.Session{}
				for _, s := range all {
					if s.Kind == access.KindEmergency {
						live = append(live, s)
					}
				}
				if asJSON {
					return encodeJSON(stdout, live)
				}
				if len(live) == 0 {
					fmt.Fprintln(stdout, "No live emergency sessions.")
					return nil
				}
				tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tCREATED\tEXPIRES\tLAST ACTIVE\tREASON")
				for _, s := range live {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, localTime(s.CreatedAt), localTime(s.ExpiresAt),
						localTime(s.LastActiveAt), s.Reason)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

// revokeResult is what `emergency-access revoke --json` prints.
type revokeResult struct {
	Revoked []string `json:"revoked"`
	// AlreadyEnded names a session that was asked for but had expired or been revoked.
	AlreadyEnded string `json:"already_ended,omitempty"`
}

func newEmergencyRevokeCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		all    bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "revoke (SESSION_ID | --all)",
		Short: "End an emergency session now, or every one with --all",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) {
				return &exitError{code: 2, err: errors.New("name one session id (goforward emergency-access list shows them) or give --all")}
			}
			var id string
			if !all {
				parsed, err := uuid.Parse(args[0])
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("%q is not a session id: goforward emergency-access list shows them", args[0])}
				}
				id = parsed.String()
			}
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, cfg config.Config) error {
				res, err := revokeEmergency(ctx, c, cfg, id)
				if err != nil {
					return err
				}
				if asJSON {
					return encodeJSON(stdout, res)
				}
				switch {
				case res.AlreadyEnded != "":
					fmt.Fprintf(stdout, "Emergency session %s had already ended; nothing to revoke.\n", res.AlreadyEnded)
				case all:
					fmt.Fprintf(stdout, "Revoked %d emergency session(s).\n", len(res.Revoked))
				default:
					fmt.Fprintf(stdout, "Revoked emergency session %s.\n", id)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "revoke every live emergency session")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

// errNoEmergencySession: the id names no emergency session at all.
var errNoEmergencySession = errors.New("no emergency session has this id: goforward emergency-access list shows the live ones")

// revokeEmergency ends one emergency session (id) or every live one (id ""), with its audit
// entry in the same transaction. A session that had already ended is reported, not an error:
// what the operator wants, that it no longer works, holds.
func revokeEmergency(ctx context.Context, c *controlDB, cfg config.Config, id string) (revokeResult, error) {
	res := revokeResult{Revoked: []string{}}
	sessions := adminSessions(cfg)
	const why = "emergency access revoked from the command line"
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		var ids []string
		if id == "" {
			rows, err := tx.Query(ctx, `SELECT id::text FROM goforward.admin_sessions
WHERE kind = 'emergency' AND revoked_at IS NULL AND expires_at > now() FOR UPDATE`)
			if err != nil {
				return err
			}
			if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
		} else {
			var live bool
			err := tx.QueryRow(ctx, `SELECT revoked_at IS NULL AND expires_at > now() FROM goforward.admin_sessions
WHERE id = $1 AND kind = 'emergency' FOR UPDATE`, id).Scan(&live)
			if errors.Is(err, pgx.ErrNoRows) {
				return &exitError{code: 1, err: fmt.Errorf("%s: %w", id, errNoEmergencySession)}
			}
			if err != nil {
				return err
			}
			if !live {
				res.AlreadyEnded = id
				return nil
			}
			ids = []string{id}
		}
		for _, sid := range ids {
			if _, err := sessions.Revoke(ctx, tx, sid, why); err != nil {
				return err
			}
			e := cliEntry("admin.emergency_access.revoke")
			e.Severity = audit.Warning
			e.ResourceType, e.ResourceID = "admin_session", sid
			if err := audit.Record(ctx, tx, e); err != nil {
				return err
			}
			res.Revoked = append(res.Revoked, sid)
		}
		return nil
	})
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return res, err
		}
		return res, fmt.Errorf("revoke emergency access: %w", err)
	}
	return res, nil
}

// localTime formats a time for tables: local, to the second.
func localTime(t time.Time) string { return t.Local().Format(time.DateTime) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
