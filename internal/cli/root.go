// Package cli builds the goforward command tree. Commands come from constructors that take
// their output streams, so tests run them in-process; serve.go is the composition root.
package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/config"
)

// version is stamped at build time with -ldflags "-X github.com/goforward/goforward/internal/cli.version=v1.2.3".
var version = "dev"

// exitError carries a process exit code through cobra without printing usage.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Run executes the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return ExitCode(Execute(ctx, NewRootCmd(stdout, stderr), args, stderr))
}

// globalFlags are the flags every command understands.
type globalFlags struct {
	configFile string
	dataDir    string
	emb        *Embedding // nil for the plain binary
}

// NewRootCmd returns the goforward command tree writing to stdout and stderr.
func NewRootCmd(stdout, stderr io.Writer) *cobra.Command {
	return newRootCmd(stdout, stderr, nil)
}

func newRootCmd(stdout, stderr io.Writer, e *Embedding) *cobra.Command {
	g := globalFlags{emb: e}
	root := &cobra.Command{
		Use:           "goforward",
		Short:         "Go Forward: a Supabase-compatible backend in one binary",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "configuration file (default ./goforward.yaml when present, or $GOFORWARD_CONFIG)")
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", "", "data directory (default ./goforward-data, or $GOFORWARD_DATA_DIR)")
	root.AddCommand(
		newServeCmd(&g, stdout, stderr),
		newStatusCmd(&g, stdout),
		newConfigCmd(&g, stdout),
		newEnvCmd(&g, stdout),
		newInitCmd(&g, stdout, stderr),
		newEmergencyAccessCmd(&g, stdout, stderr),
		newSessionsCmd(&g, stdout, stderr),
		newKeysCmd(&g, stdout, stderr),
		newAdminCmd(&g, stdout, stderr),
		newUserCmd(&g, stdout, stderr),
		newMigrateCmd(&g, stdout, stderr),
		newAuditCmd(&g, stdout, stderr),
		newAlertsCmd(&g, stdout, stderr),
	)
	return root
}

// loadConfig merges defaults, the config file, the environment and the flags that were set.
func loadConfig(cmd *cobra.Command, g *globalFlags, overrides map[string]any) (config.Config, error) {
	if overrides == nil {
		overrides = map[string]any{}
	}
	if cmd.Flags().Changed("data-dir") {
		overrides["data_dir"] = g.dataDir
	}
	cfg, err := config.Load(config.LoadOptions{File: g.configFile, Overrides: overrides, Defaults: g.emb.defaults(), StorageBackends: g.emb.storageBackendNames()})
	if err != nil {
		return config.Config{}, &exitError{code: 2, err: fmt.Errorf("invalid configuration:\n%w", err)}
	}
	return cfg, nil
}
