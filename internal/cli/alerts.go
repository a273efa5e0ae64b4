package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/alerts"
	"github.com/goforward/goforward/internal/config"
)

func newAlertsCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List, acknowledge and resolve the security monitor's alerts",
	}
	cmd.AddCommand(newAlertsListCmd(g, stdout, stderr),
		newAlertsSetCmd(g, stdout, stderr, "ack", "Acknowledge alerts: someone is looking at them", alerts.StatusAcknowledged),
		newAlertsSetCmd(g, stdout, stderr, "resolve", "Resolve alerts: the next hit of their rule opens a new one", alerts.StatusResolved))
	return cmd
}

func newAlertsListCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		f      alerts.Filter
		all    bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [--status open|acknowledged|resolved|--all] [--rule R] [--severity S] [--limit N]",
		Short: "List alerts, newest first (open ones unless --status or --all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all {
				f.Status = ""
			}
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, _ config.Config) error {
				page, err := alerts.List(ctx, c.Pool, f)
				if errors.Is(err, alerts.ErrInvalid) {
					return &exitError{code: 2, err: err}
				}
				if err != nil {
					return err
				}
				if asJSON {
					return encodeJSON(stdout, page)
				}
				if len(page.Alerts) == 0 {
					fmt.Fprintln(stdout, "No alerts.")
					return nil
				}
				tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tSEVERITY\tRULE\tSUBJECT\tCOUNT\tFIRST SEEN\tLAST SEEN\tACTION")
				for _, a := range page.Alerts {
					action := a.Action
					if a.ActionUntil != nil {
						action += " until " + localTime(*a.ActionUntil)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.ID, a.Status, a.Severity, a.Rule, dash(a.Subject),
						a.Count, localTime(a.FirstSeen), localTime(a.LastSeen), action)
				}
				if page.NextCursor != nil {
					fmt.Fprintf(tw, "(more: --cursor %s)\n", *page.NextCursor)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&f.Status, "status", alerts.StatusOpen, "open, acknowledged or resolved")
	cmd.Flags().BoolVar(&all, "all", false, "every status")
	cmd.Flags().StringVar(&f.Rule, "rule", "", "only this rule's alerts")
	cmd.Flags().StringVar(&f.Severity, "severity", "", "info, warning or critical")
	cmd.Flags().StringVar(&f.Subject, "subject", "", "only alerts about this subject (e.g. ip:203.0.113.7)")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "alerts per page (1-500)")
	cmd.Flags().StringVar(&f.Cursor, "cursor", "", "the next page, as the previous one printed it")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"alerts":[…],"next_cursor":…}`)
	return cmd
}

func newAlertsSetCmd(g *globalFlags, stdout, stderr io.Writer, use, short, status string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use + " ID...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := make([]int64, len(args))
			for i, arg := range args {
				id, err := strconv.ParseInt(arg, 10, 64)
				if err != nil || id <= 0 {
					return &exitError{code: 2, err: fmt.Errorf("%q is not an alert id (goforward alerts list shows them)", arg)}
				}
				ids[i] = id
			}
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, cfg config.Config) error {
				var out []alerts.Alert
				err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
					for _, id := range ids {
						e := cliEntry("")
						a, err := alerts.SetStatus(ctx, tx, id, status, e.Actor, e.Client)
						switch {
						case errors.Is(err, alerts.ErrNotFound):
							return fmt.Errorf("no alert has the id %d", id)
						case errors.Is(err, alerts.ErrResolved):
							return fmt.Errorf("alert %d is resolved already; a new hit of its rule opens a new alert", id)
						case err != nil:
							return err
						}
						out = append(out, a)
					}
					return nil
				})
				if err != nil {
					return err
				}
				if status == alerts.StatusResolved {
					liftBlocks(ctx, cfg, c, out, stderr)
				}
				if asJSON {
					return encodeJSON(stdout, out)
				}
				for _, a := range out {
					fmt.Fprintf(stdout, "Alert %d (%s, %s) is %s.\n", a.ID, a.Rule, dash(a.Subject), a.Status)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the alerts as a JSON array")
	return cmd
}

// liftBlocks lifts the address blocks of resolved alerts. Blocks are shared through Redis;
// without redis.url a block lives in the memory of the node that made it, out of this
// command's reach, and the operator is told so.
func liftBlocks(ctx context.Context, cfg config.Config, c *controlDB, resolved []alerts.Alert, stderr io.Writer) {
	var blocking []alerts.Alert
	for _, a := range resolved {
		if a.Action == alerts.ActionBlockIP && a.ActionUntil != nil && time.Now().Before(*a.ActionUntil) {
			blocking = append(blocking, a)
		}
	}
	if len(blocking) == 0 {
		return
	}
	if cfg.Redis.URL == "" {
		for _, a := range blocking {
			fmt.Fprintf(stderr, "Note: alert %d's address block lasts until %s: without redis.url it is held by the node that made it; resolve the alert through /admin/v1/alerts to lift it there.\n",
				a.ID, localTime(*a.ActionUntil))
		}
		return
	}
	store, closeStore, err := rateLimitStore(cfg, quietLogger(cfg, stderr))
	if err != nil {
		fmt.Fprintf(stderr, "Warning: cannot reach Redis to lift address blocks: %v\n", err)
		return
	}
	defer closeStore()
	guard := alerts.NewGuard(alerts.GuardConfig{}, store, c.Pool, quietLogger(cfg, stderr))
	for _, a := range blocking {
		if err := alerts.LiftBlock(ctx, guard, a); err != nil {
			fmt.Fprintf(stderr, "Warning: alert %d's address block was not lifted: %v\n", a.ID, err)
		}
	}
}
