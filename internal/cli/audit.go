package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
)

// auditSealer is the audit log's sealer as serve runs it. It runs in every server process
// whatever --services says: auth and the CLI write entries too, not only the admin service;
// one process per database is elected, the others stand by.
func auditSealer(cfg config.Config, dataDir string, pool *pgxpool.Pool, logger *slog.Logger) *audit.Sealer {
	return audit.NewSealer(pool, audit.SealerConfig{
		Dir: audit.Dir(dataDir), Retention: cfg.Audit.Retention, Logger: logger.With("component", "audit"),
	})
}

func newAuditCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify, export and follow the audit log",
		Long: `The audit log (goforward.audit_log) records every administrative and security-relevant event,
hash-chained so that an edited, removed or reordered entry is found. These commands work
whether or not goforward serve runs on the data directory.`,
	}
	cmd.AddCommand(newAuditVerifyCmd(g, stdout, stderr), newAuditExportCmd(g, stdout, stderr), newAuditTailCmd(g, stdout, stderr))
	return cmd
}

func newAuditVerifyCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain, archives included; exit 1 if it was tampered with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, _ config.Config) error {
				dir := audit.Dir(c.Dir.Root())
				report, err := audit.Verify(ctx, c.Pool, dir)
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					if err := enc.Encode(report); err != nil {
						return err
					}
				} else {
					printVerifyReport(stdout, report, dir)
				}
				if !report.OK {
					return &exitError{code: 1, err: fmt.Errorf("the audit log was tampered with: %s entry %d (link %d); investigate before anything else, see docs/admin.md#audit-log",
						report.FirstBroken.Problem, report.FirstBroken.EntryID, report.FirstBroken.Seq)}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON: {ok, checked, first_broken, …}")
	return cmd
}

func printVerifyReport(w io.Writer, r audit.Report, dir string) {
	if !r.OK {
		b := r.FirstBroken
		fmt.Fprintf(w, "BROKEN: %s", b.Problem)
		if b.EntryID != 0 {
			fmt.Fprintf(w, " entry %d", b.EntryID)
		}
		if b.Seq != 0 {
			fmt.Fprintf(w, " (link %d)", b.Seq)
		}
		fmt.Fprintf(w, "\n  %s\n  %d entries verified before it.\n", b.Detail, r.Checked)
		return
	}
	fmt.Fprintf(w, "OK: %d entries verified", r.Checked)
	if r.Archived > 0 {
		fmt.Fprintf(w, " (%d of them in archives)", r.Archived)
	}
	fmt.Fprintf(w, "; %d newest not sealed yet.\n", r.Unsealed)
	if r.Head != nil {
		fmt.Fprintf(w, "  chain head: link %d, entry %d, %s\n", r.Head.Seq, r.Head.EntryID, r.Head.Hash)
	}
	if r.Anchor == nil {
		fmt.Fprintf(w, "  warning: no chain head is recorded in %s (no server has sealed on this data directory), so removing the newest entries would go unnoticed.\n", dir)
	}
}

// auditFilterFlags are the filter flags of export and tail.
type auditFilterFlags struct {
	actor, actorType, action, resourceType, resourceID, outcome, severity, since, until string
}

func (f *auditFilterFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.actor, "actor", "", "only entries by this actor id or e-mail address")
	fl.StringVar(&f.actorType, "actor-type", "", "only this actor type: "+strings.Join(audit.ActorTypes, ", "))
	fl.StringVar(&f.action, "action", "", `only this action; a trailing * matches a prefix ("auth.*")`)
	fl.StringVar(&f.resourceType, "resource-type", "", "only entries on this kind of resource (user, admin, …)")
	fl.StringVar(&f.resourceID, "resource-id", "", "only entries on this resource id")
	fl.StringVar(&f.outcome, "outcome", "", "only this outcome: success, denied or error")
	fl.StringVar(&f.severity, "severity", "", "only this severity: info, warning or critical")
	fl.StringVar(&f.since, "since", "", "only entries at or after this time (RFC 3339, or a duration ago such as 24h)")
	fl.StringVar(&f.until, "until", "", "only entries before this time (RFC 3339, or a duration ago)")
}

func (f *auditFilterFlags) filter(now time.Time) (audit.Filter, error) {
	out := audit.Filter{Actor: f.actor, ActorType: f.actorType, Action: f.action, ResourceType: f.resourceType,
		ResourceID: f.resourceID, Outcome: f.outcome, Severity: f.severity}
	for flag, v := range map[string]struct {
		text string
		dst  *time.Time
	}{"--since": {f.since, &out.From}, "--until": {f.until, &out.To}} {
		if v.text == "" {
			continue
		}
		if d, err := time.ParseDuration(v.text); err == nil {
			*v.dst = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339Nano, v.text); err == nil {
			*v.dst = t
		} else {
			return audit.Filter{}, &exitError{code: 2, err: fmt.Errorf("%s %q: give a time such as 2026-01-02T15:04:05Z or a duration such as 24h", flag, v.text)}
		}
	}
	if err := out.Validate(); err != nil {
		return audit.Filter{}, &exitError{code: 2, err: err}
	}
	return out, nil
}

func newAuditExportCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		flags  auditFilterFlags
		format string
		output string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the audit log (or the entries the filters select), oldest first, as NDJSON or CSV",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := flags.filter(time.Now())
			if err != nil {
				return err
			}
			if format != audit.FormatNDJSON && format != audit.FormatCSV {
				return &exitError{code: 2, err: fmt.Errorf("--format %q: use ndjson or csv", format)}
			}
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, _ config.Config) error {
				var out io.Writer = stdout
				var file *os.File
				if output != "" {
					if file, err = os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
						return fmt.Errorf("%w (choose a new file name; an export never overwrites one)", err)
					}
					out = file
				}
				e := audit.Entry{Actor: access.CLI().Actor(), Action: "audit.exported", ResourceType: "audit_log",
					Details: map[string]any{"format": format, "filter": strings.Join(flagsSet(cmd), " "), "output": output}}
				if err := audit.Record(ctx, c.Pool, e); err != nil {
					return err
				}
				n, err := audit.Export(ctx, c.Pool, f, format, out, nil)
				if file != nil {
					if cerr := file.Close(); err == nil {
						err = cerr
					}
				}
				if err != nil {
					return err
				}
				if output != "" {
					fmt.Fprintf(stderr, "Wrote %d entries to %s\n", n, output)
				}
				return nil
			})
		},
	}
	flags.add(cmd)
	cmd.Flags().StringVar(&format, "format", audit.FormatNDJSON, "ndjson (faithful, verifiable) or csv (for spreadsheets)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this new file (mode 0600) instead of standard output")
	return cmd
}

// flagsSet lists the flags given on the command line, for the export's audit entry.
func flagsSet(cmd *cobra.Command) []string {
	var out []string
	cmd.Flags().Visit(func(f *pflag.Flag) { out = append(out, "--"+f.Name+"="+f.Value.String()) })
	return out
}

// tailWindow is how far below the newest entry printed tail --follow looks again: an entry
// whose transaction committed after a newer one's still appears.
const tailWindow = 1000

func newAuditTailCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		flags  auditFilterFlags
		lines  int
		follow bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print the newest audit entries, oldest of them first; --follow keeps printing new ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := flags.filter(time.Now())
			if err != nil {
				return err
			}
			if lines < 0 || lines > audit.MaxPageSize {
				return &exitError{code: 2, err: fmt.Errorf("-n %d: give a number from 0 to %d", lines, audit.MaxPageSize)}
			}
			print := func(r audit.Row) error { return printAuditRow(stdout, r, asJSON) }
			return withControlDB(cmd, g, stderr, func(ctx context.Context, c *controlDB, _ config.Config) error {
				newest, err := audit.LastID(ctx, c.Pool)
				if err != nil {
					return err
				}
				seen := map[int64]bool{}
				if lines > 0 {
					page, err := audit.List(ctx, c.Pool, f, "", lines, false)
					if err != nil {
						return err
					}
					for i := len(page.Entries) - 1; i >= 0; i-- {
						seen[page.Entries[i].ID] = true
						if err := print(page.Entries[i]); err != nil {
							return err
						}
					}
				}
				if !follow {
					return nil
				}
				return followAudit(ctx, c, f, newest, seen, print)
			})
		},
	}
	flags.add(cmd)
	cmd.Flags().IntVarP(&lines, "lines", "n", 20, "how many of the newest entries to print first")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new entries until interrupted (Ctrl-C)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each entry as one JSON line (the export's NDJSON)")
	return cmd
}

// followAudit prints entries newer than from as they appear, until ctx ends.
func followAudit(ctx context.Context, c *controlDB, f audit.Filter, from int64, seen map[int64]bool, print func(audit.Row) error) error {
	newest := from
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		f.After = max(0, newest-tailWindow)
		cursor := ""
		for {
			page, err := audit.List(ctx, c.Pool, f, cursor, audit.MaxPageSize, true)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return err
			}
			for _, r := range page.Entries {
				if seen[r.ID] || r.ID <= from {
					continue
				}
				seen[r.ID] = true
				newest = max(newest, r.ID)
				if err := print(r); err != nil {
					return err
				}
			}
			if page.NextCursor == nil {
				break
			}
			cursor = *page.NextCursor
		}
		for id := range seen {
			if id <= newest-tailWindow {
				delete(seen, id)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// printAuditRow writes one entry: a line for people, or its JSON.
func printAuditRow(w io.Writer, r audit.Row, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	}
	actor := r.ActorType
	if who := cmp.Or(r.ActorEmail, r.ActorID); who != "" {
		actor += ":" + who
	}
	resource := strings.TrimSpace(r.ResourceType + " " + r.ResourceID)
	_, err := fmt.Fprintf(w, "%s  #%-6d %-8s %-7s %-36s %-30s %s%s\n", r.OccurredAt.UTC().Format(time.RFC3339), r.ID,
		r.Severity, r.Outcome, actor, r.Action, resource, prefixed("  from ", r.IP))
	return err
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
