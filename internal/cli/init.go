package cli

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/config"
)

// initResult is what `init --json` prints. The secret stays in the file.
type initResult struct {
	ConfigFile  string `json:"config_file"`
	Environment string `json:"environment"`
	DataDir     string `json:"data_dir"`
	// ProductionRequirements lists what production still refuses to start without; empty
	// outside production.
	ProductionRequirements []string `json:"production_requirements"`
	// Next is the command that starts the server on this configuration.
	Next string `json:"next"`
}

var environments = []string{config.EnvDevelopment, config.EnvStaging, config.EnvProduction}

func newInitCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		dir    string
		env    string
		force  bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a goforward.yaml with a new JWT secret for the environment you choose",
		Long: `Write goforward.yaml in --dir (the current directory by default) with a newly generated
JWT secret, the environment (--env; asked for when run in a terminal, else development) and
the data directory, readable by you only. It refuses to replace an existing file unless
--force is given, since the keys and tokens signed with the old secret would stop working.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := initConfigPath(dir)
			if err != nil {
				return err
			}
			if err := refuseToReplace(path, force); err != nil {
				return err // before asking anything
			}
			if !cmd.Flags().Changed("env") {
				env = askEnvironment(cmd.InOrStdin(), stderr)
			}
			env = strings.ToLower(strings.TrimSpace(env))
			if !slices.Contains(environments, env) {
				return &exitError{code: 2, err: fmt.Errorf("--env %q: use one of %s", env, strings.Join(environments, ", "))}
			}
			dataDir := config.Defaults().DataDir
			if cmd.Flags().Changed("data-dir") {
				dataDir = g.dataDir
			}
			res, err := writeInitConfig(path, env, dataDir, force)
			if err != nil {
				return err
			}
			if asJSON {
				return encodeJSON(stdout, res)
			}
			printInitResult(stdout, res)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "directory to write goforward.yaml in (created if missing)")
	cmd.Flags().StringVar(&env, "env", config.EnvDevelopment, "environment: development, staging or production")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing goforward.yaml (its JWT secret is lost)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

// askEnvironment asks for the environment when a person is at the terminal; a script (stdin
// not a terminal) gets development, as it would without --env.
func askEnvironment(in io.Reader, prompt io.Writer) string {
	f, ok := in.(*os.File)
	if !ok {
		return config.EnvDevelopment
	}
	if info, err := f.Stat(); err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return config.EnvDevelopment
	}
	fmt.Fprintf(prompt, "Environment (%s) [%s]: ", strings.Join(environments, ", "), config.EnvDevelopment)
	line, _ := bufio.NewReader(f).ReadString('\n')
	if line = strings.TrimSpace(line); line != "" {
		return line
	}
	return config.EnvDevelopment
}

// initConfigPath is the absolute path of goforward.yaml in dir.
func initConfigPath(dir string) (string, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(absDir, config.DefaultFile), nil
}

func refuseToReplace(path string, force bool) error {
	if _, err := os.Lstat(path); err == nil && !force {
		return &exitError{code: 1, err: fmt.Errorf("%s already exists: keep it, or pass --force to replace it "+
			"(its JWT secret is then lost, and the anon and service-role keys and every token signed with it stop working)", path)}
	}
	return nil
}

// writeInitConfig writes path (dir/goforward.yaml), mode 0600, and checks that it loads.
func writeInitConfig(path, env, dataDir string, force bool) (initResult, error) {
	absDir := filepath.Dir(path)
	if err := os.MkdirAll(absDir, 0o755); err != nil {
		return initResult{}, fmt.Errorf("create %s: %w", absDir, err)
	}
	secret, err := newJWTSecret()
	if err != nil {
		return initResult{}, err
	}
	if err := writeFileAtomic(path, []byte(initYAML(env, dataDir, secret)), force); err != nil {
		return initResult{}, err
	}
	// The file is ours, but what it says must be what serve will read: load it without the
	// environment, which could mask a mistake in the file.
	cfg, err := config.Load(config.LoadOptions{File: path, Getenv: func(string) string { return "" }})
	if err != nil {
		return initResult{}, fmt.Errorf("%s was written but does not load: %w", path, err)
	}
	res := initResult{ConfigFile: path, Environment: env, DataDir: dataDir, ProductionRequirements: []string{}, Next: "goforward serve"}
	if cwd, err := os.Getwd(); err != nil || cwd != absDir {
		// data_dir, like every relative path, is resolved against the working directory.
		res.Next = "cd " + shellQuote(absDir) + " && goforward serve"
	}
	if env == config.EnvProduction {
		res.ProductionRequirements = append(res.ProductionRequirements, cfg.ProductionProblems()...)
	}
	return res, nil
}

// newJWTSecret returns 384 random bits in base64url (64 characters): well above the 32
// characters HS256 needs here, and safe unquoted in YAML and environment variables.
func newJWTSecret() (string, error) {
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate the JWT secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func initYAML(env, dataDir, secret string) string {
	return fmt.Sprintf(`# Go Forward configuration, written by goforward init on %s.
# Every setting and its default: goforward.example.yaml and docs/configuration.md. An
# environment variable (GOFORWARD_SERVER_PORT, DATABASE_URL, JWT_SECRET, ...) wins over
# this file. This file holds a secret: it is readable by its owner only; keep it out of
# version control.

# development, staging or production: production refuses to start on weak settings
# (goforward env check lists them), and admins of higher levels must use a second factor.
environment: %s

# The managed PostgreSQL cluster, generated secrets and local file storage. A relative path
# is taken from the directory goforward runs in.
data_dir: %s

jwt:
  # Signs the anon and service-role keys and every user's token. Give every node the same
  # secret; changing it invalidates all keys and tokens issued with it.
  secret: %s
`, time.Now().UTC().Format(time.DateOnly), env, strconv.Quote(dataDir), strconv.Quote(secret))
}

// writeFileAtomic writes data to path with mode 0600: complete or not at all. Without
// replace it fails when path exists, even if it appeared since the caller looked.
func writeFileAtomic(path string, data []byte, replace bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err = tmp.Chmod(0o600); err == nil {
		if _, err = tmp.Write(data); err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path)
	}
	if errors.Is(err, fs.ErrExist) {
		return refuseToReplace(path, false)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func printInitResult(w io.Writer, r initResult) {
	fmt.Fprintf(w, "Wrote %s: environment %s, a new JWT secret, data in %s.\n", r.ConfigFile, r.Environment, r.DataDir)
	fmt.Fprintln(w, "It is readable by you only; keep it out of version control.")
	if len(r.ProductionRequirements) > 0 {
		fmt.Fprintln(w, "\nProduction refuses to start until you set (in the file or the environment):")
		for _, p := range r.ProductionRequirements {
			fmt.Fprintf(w, "  - %s\n", p)
		}
		fmt.Fprintf(w, "Check with: goforward env check --config %s\n", shellQuote(r.ConfigFile))
	}
	fmt.Fprintf(w, "\nNext: %s\n", r.Next)
	fmt.Fprintln(w, "Then create the first admin: goforward admin create --email you@example.com --level system_admin")
}

// shellQuote quotes a path for a shell command line when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
