package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/config"
)

func newConfigCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (secrets redacted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, g, nil)
			if err != nil {
				return err
			}
			out, err := cfg.Redacted().YAML()
			if err != nil {
				return err
			}
			_, err = stdout.Write(out)
			return err
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "env",
		Short: "List every environment variable the configuration reads",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "VARIABLE\tKEY\tDEFAULT\tDESCRIPTION")
			for _, v := range config.EnvVars() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Name, v.Key, v.Default, v.Doc)
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(newCheckCmd(g, stdout))
	return cmd
}

// newEnvCmd holds checks of the deployment environment; `env check` validates the
// configuration and lists what production would refuse, without starting anything.
func newEnvCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Check the configuration against the environment's requirements",
	}
	cmd.AddCommand(newCheckCmd(g, stdout))
	return cmd
}

// newCheckCmd validates the configuration and lists what production would refuse. It is both
// `env check` and `config check`: the second is where people look for it next to `config`
// and `config env`.
func newCheckCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and list what production would refuse",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, g, nil)
			if err != nil {
				return err
			}
			problems := cfg.ProductionProblems()
			if len(problems) == 0 {
				fmt.Fprintf(stdout, "configuration is valid (environment %s); nothing production would refuse\n", cfg.Environment)
			} else {
				fmt.Fprintf(stdout, "configuration is valid (environment %s); production would refuse to start until:\n", cfg.Environment)
				for _, p := range problems {
					fmt.Fprintf(stdout, "  - %s\n", p)
				}
			}
			fmt.Fprintf(stdout, "admin sign-in in %s:\n", cfg.Environment)
			for _, n := range cfg.AdminSignInNotes() {
				fmt.Fprintf(stdout, "  - %s\n", n)
			}
			if len(problems) > 0 && cfg.Environment == "production" {
				return &exitError{code: 2, err: fmt.Errorf("%d production requirement(s) not met", len(problems))}
			}
			return nil
		},
	}
}
