package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/usermigrations"
	"github.com/goforward/goforward/migrations"
)

// migrateFlags are the flags every `migrate` subcommand shares.
type migrateFlags struct {
	dir    string
	asJSON bool
}

// newMigrateCmd is `goforward migrate`: the project's own schema migrations.
func newMigrateCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var f migrateFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, roll back and write the project's schema migrations",
		Long: `The project's own schema migrations: SQL files in the migrations directory
(migrations.dir; default ./supabase/migrations when it exists, else ./migrations), named
VERSION_NAME.up.sql and VERSION_NAME.down.sql; Supabase CLI's VERSION_name.sql files are
up-only migrations. The history lives in goforward.migrations. Each migration runs in a
transaction of its own under a lock, so two commands running at once apply it once; every
change is written to the audit log. The commands work whether or not the server runs.`,
	}
	cmd.PersistentFlags().StringVar(&f.dir, "dir", "", "migrations directory (default: migrations.dir)")
	cmd.PersistentFlags().BoolVar(&f.asJSON, "json", false, "print JSON")
	cmd.AddCommand(
		newMigrateNewCmd(g, &f, stdout),
		newMigrateUpCmd(g, &f, stdout, stderr),
		newMigrateDownCmd(g, &f, stdout, stderr),
		newMigrateRedoCmd(g, &f, stdout, stderr),
		newMigrateStatusCmd(g, &f, stdout, stderr),
		newMigrateDiffCmd(g, &f, stdout, stderr),
	)
	return cmd
}

// migrateConfig loads the configuration with --dir applied.
func migrateConfig(cmd *cobra.Command, g *globalFlags, f *migrateFlags) (config.Config, error) {
	overrides := map[string]any{}
	if f.dir != "" {
		overrides["migrations.dir"] = f.dir
	}
	return loadConfig(cmd, g, overrides)
}

// withMigrations opens the database (whether or not serve runs) and runs fn with the
// migration service on it.
func withMigrations(cmd *cobra.Command, g *globalFlags, f *migrateFlags, stderr io.Writer, fn func(ctx context.Context, svc *usermigrations.Service) error) error {
	cfg, err := migrateConfig(cmd, g, f)
	if err != nil {
		return err
	}
	logger := quietLogger(cfg, stderr)
	c, err := openControlDB(cmd.Context(), cfg, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(cmd.Context(), migrationService(c.Pool, cfg, logger))
}

// migrationService is the migration service as configured, on the owner's pool: serve's
// admin API and the CLI build it the same way.
func migrationService(pool *pgxpool.Pool, cfg config.Config, logger *slog.Logger) *usermigrations.Service {
	return usermigrations.New(pool, usermigrations.Config{Dir: cfg.Migrations.Dir, Internal: migrations.FS, Logger: logger})
}

func newMigrateNewCmd(g *globalFlags, f *migrateFlags, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "new NAME",
		Short: "Write the up and down files of a new, empty migration",
		Long: `Write VERSION_NAME.up.sql and VERSION_NAME.down.sql into the migrations directory, the
version being the current time (UTC, as Supabase's CLI writes it). Needs no database.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := migrateConfig(cmd, g, f)
			if err != nil {
				return err
			}
			file, err := migrationService(nil, cfg, quietLogger(cfg, cmd.ErrOrStderr())).NewFiles(args[0])
			if err != nil {
				return err
			}
			if f.asJSON {
				return encodeJSON(stdout, map[string]any{"version": file.Version, "name": file.Name, "up_file": file.UpPath, "down_file": file.DownPath})
			}
			fmt.Fprintf(stdout, "Created %s\nCreated %s\nWrite the SQL into both, then run: goforward migrate up\n", file.UpPath, file.DownPath)
			return nil
		},
	}
}

func newMigrateUpCmd(g *globalFlags, f *migrateFlags, stdout, stderr io.Writer) *cobra.Command {
	var to string
	var dry bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Apply the pending migrations",
		Long: `Apply the pending migrations in version order, each in a transaction of its own. A
failing migration is rolled back completely, and the error names its file, statement and
line; the ones before it stay applied. Nothing runs while an applied migration's file has
changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMigrations(cmd, g, f, stderr, func(ctx context.Context, svc *usermigrations.Service) error {
				res, err := svc.Up(ctx, cliEntry(""), usermigrations.UpOptions{To: to, DryRun: dry})
				if f.asJSON {
					if err != nil {
						return err // stdout stays empty: the message is on stderr, the state in status
					}
					return encodeJSON(stdout, res)
				}
				printSteps(stdout, res)
				if err != nil {
					return err
				}
				switch {
				case res.DryRun:
					fmt.Fprintf(stdout, "Dry run: %s would be applied; nothing was run.\n", plural(len(res.Steps), "migration"))
				case len(res.Steps) == 0:
					fmt.Fprintf(stdout, "Nothing to apply: the database is up to date with %s.\n", svc.Dir())
				default:
					fmt.Fprintf(stdout, "%s applied.\n", plural(len(res.Steps), "migration"))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "stop after this version")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the SQL that would run, and run nothing")
	return cmd
}

func newMigrateDownCmd(g *globalFlags, f *migrateFlags, stdout, stderr io.Writer) *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "down [N]",
		Short: "Roll back the latest N migrations (default 1)",
		Long: `Roll back the N most recently applied migrations, newest first, each in a transaction
of its own, with its down file (or, when the file is gone, the down SQL recorded when it was
applied). When one of them has no down SQL, nothing is rolled back.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 1
			if len(args) == 1 {
				var err error
				if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
					return fmt.Errorf("the number of migrations to roll back must be a positive number (got %q)", args[0])
				}
			}
			return withMigrations(cmd, g, f, stderr, func(ctx context.Context, svc *usermigrations.Service) error {
				res, err := svc.Down(ctx, cliEntry(""), usermigrations.DownOptions{Count: n, DryRun: dry})
				if f.asJSON {
					if err != nil {
						return err // stdout stays empty: the message is on stderr, the state in status
					}
					return encodeJSON(stdout, res)
				}
				printSteps(stdout, res)
				if err != nil {
					return err
				}
				switch {
				case res.DryRun:
					fmt.Fprintf(stdout, "Dry run: %s would be rolled back; nothing was run.\n", plural(len(res.Steps), "migration"))
				case len(res.Steps) == 0:
					fmt.Fprintln(stdout, "Nothing to roll back: no migration is applied.")
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the SQL that would run, and run nothing")
	return cmd
}

func newMigrateRedoCmd(g *globalFlags, f *migrateFlags, stdout, stderr io.Writer) *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "redo",
		Short: "Roll back the latest migration and apply its file again",
		Long: `Roll back the most recently applied migration and apply its file again, in one
transaction: the way to try an edited migration while developing. If applying fails, the
rollback is undone too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMigrations(cmd, g, f, stderr, func(ctx context.Context, svc *usermigrations.Service) error {
				res, err := svc.Redo(ctx, cliEntry(""), dry)
				if f.asJSON {
					if err != nil {
						return err // stdout stays empty: the message is on stderr, the state in status
					}
					return encodeJSON(stdout, res)
				}
				printSteps(stdout, res)
				if err == nil && res.DryRun {
					fmt.Fprintln(stdout, "Dry run: nothing was run.")
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the SQL that would run, and run nothing")
	return cmd
}

// printSteps prints what a run did, or in a dry run the SQL it would run.
func printSteps(w io.Writer, res usermigrations.Result) {
	for _, st := range res.Steps {
		verb := map[string][2]string{usermigrations.Up: {"Applied", "apply"}, usermigrations.Down: {"Rolled back", "roll back with"}}[st.Direction]
		if res.DryRun {
			fmt.Fprintf(w, "-- %s: would %s %s (%s)\n%s\n\n", st.ID(), verb[1], st.Source, plural(st.Statements, "statement"), st.SQL)
			continue
		}
		fmt.Fprintf(w, "%s %s (%s, %s)\n", verb[0], st.ID(), plural(st.Statements, "statement"), formatMS(st.DurationMS))
	}
}

func newMigrateStatusCmd(g *globalFlags, f *migrateFlags, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "List the migrations: applied, pending, changed or missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMigrations(cmd, g, f, stderr, func(ctx context.Context, svc *usermigrations.Service) error {
				list, err := svc.Status(ctx)
				if err != nil {
					return err
				}
				if f.asJSON {
					if list == nil {
						list = []usermigrations.Status{}
					}
					return encodeJSON(stdout, map[string]any{"dir": svc.Dir(), "migrations": list})
				}
				return printStatus(stdout, svc.Dir(), list)
			})
		},
	}
}

func printStatus(w io.Writer, dir string, list []usermigrations.Status) error {
	if len(list) == 0 {
		fmt.Fprintf(w, "No migrations in %s yet. Create one with: goforward migrate new NAME\n", dir)
		return nil
	}
	count := map[string]int{}
	for _, st := range list {
		count[st.State]++
	}
	fmt.Fprintf(w, "Migrations in %s: %d applied, %d pending", dir, count[usermigrations.StateApplied]+count[usermigrations.StateChanged]+count[usermigrations.StateMissing], count[usermigrations.StatePending])
	if n := count[usermigrations.StateChanged]; n > 0 {
		fmt.Fprintf(w, ", %d changed since applied", n)
	}
	if n := count[usermigrations.StateMissing]; n > 0 {
		fmt.Fprintf(w, ", %d applied without a file here", n)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATUS\tAPPLIED\tBY\tROLLBACK")
	for _, st := range list {
		applied, by := "-", "-"
		if st.AppliedAt != nil {
			applied = st.AppliedAt.UTC().Format(time.DateTime)
			if st.Marked {
				applied += " (marked)"
			}
			by = st.AppliedBy
		}
		rollback := "yes"
		if !st.Reversible {
			rollback = "no down SQL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Version, st.Name, st.State, applied, by, rollback)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case count[usermigrations.StateChanged] > 0:
		fmt.Fprintln(w, "A changed migration stops `goforward migrate up`: restore its file, or while developing `goforward migrate redo` the latest one.")
	case count[usermigrations.StatePending] > 0:
		fmt.Fprintln(w, "Apply the pending ones with: goforward migrate up")
	}
	return nil
}

func newMigrateDiffCmd(g *globalFlags, f *migrateFlags, stdout, stderr io.Writer) *cobra.Command {
	var schemas []string
	var dry bool
	cmd := &cobra.Command{
		Use:   "diff NAME",
		Short: "Write a migration from the changes made to the live schema outside migrations",
		Long: `Compare the live schema with what the migration history makes (replayed into a scratch
database on the same server) and write the difference as a new migration, with its reverse
as the down file: tables, columns, constraints, indexes, policies, triggers, functions,
sequences, enum types, extensions and comments of every schema but PostgreSQL's and Go
Forward's own (or the --schema ones). The live database has these changes already, so the
migration is recorded as applied. Changes made in the dashboard, through /pg or psql are
then in files. Review the files: a rename shows as a drop and an add.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMigrations(cmd, g, f, stderr, func(ctx context.Context, svc *usermigrations.Service) error {
				res, err := svc.Diff(ctx, cliEntry(""), usermigrations.DiffOptions{Name: args[0], Schemas: schemas, DryRun: dry})
				if err != nil {
					return err
				}
				if f.asJSON {
					return encodeJSON(stdout, res)
				}
				for _, n := range res.Notes {
					fmt.Fprintln(stderr, "Note:", n)
				}
				switch {
				case res.Empty:
					fmt.Fprintf(stdout, "No difference between the migration history and the live schema (schemas %s): nothing written.\n", strings.Join(res.Schemas, ", "))
				case res.DryRun:
					fmt.Fprint(stdout, res.Up)
				default:
					fmt.Fprintf(stdout, "Wrote %s and %s (%s), and recorded %s_%s as applied: the live database has these changes already.\nReview both files before you commit them.\n",
						res.Migration.UpFile, res.Migration.DownFile, plural(res.Statements, "statement"), res.Migration.Version, res.Migration.Name)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringSliceVar(&schemas, "schema", nil, "compare only these schemas (repeat or comma-separate)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the migration instead of writing it")
	return cmd
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func formatMS(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.1fs", ms/1000)
	}
	return fmt.Sprintf("%.1fms", ms)
}
