package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
)

// statusReport is what `goforward status` prints; the JSON names follow `supabase status -o json`
// in lower case.
type statusReport struct {
	APIURL         string    `json:"api_url"`
	DBURL          string    `json:"db_url"`
	AnonKey        string    `json:"anon_key"`
	ServiceRoleKey string    `json:"service_role_key"`
	JWTSecret      string    `json:"jwt_secret"`
	DataDir        string    `json:"data_dir"`
	PID            int       `json:"pid"`
	ManagedCluster bool      `json:"managed_cluster"`
	Services       []string  `json:"services"`
	StartedAt      time.Time `json:"started_at"`
}

func newStatusCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the URLs and keys of the server running on a data directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, g, nil)
			if err != nil {
				return err
			}
			report, err := readStatus(cmd.Context(), cfg)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(report)
			}
			printStatusTable(stdout, report)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func readStatus(ctx context.Context, cfg config.Config) (statusReport, error) {
	dir, err := datadir.New(cfg.DataDir)
	if err != nil {
		return statusReport{}, err
	}
	rt, err := dir.ReadRuntime()
	if errors.Is(err, datadir.ErrNotRunning) {
		return statusReport{}, fmt.Errorf("goforward is not running on %s (start it with: goforward serve --data-dir %s)", dir.Root(), dir.Root())
	}
	if err != nil {
		return statusReport{}, err
	}
	probe := rt.LocalURL
	if probe == "" { // a record written before local_url existed
		probe = rt.APIURL
	}
	if err := probeHealth(ctx, probe); err != nil {
		return statusReport{}, fmt.Errorf("goforward (pid %d) runs on %s but does not answer at %s: %w", rt.PID, dir.Root(), probe, err)
	}
	report := statusReport{
		APIURL: rt.APIURL, DBURL: rt.DBURL, AnonKey: rt.AnonKey, ServiceRoleKey: rt.ServiceRoleKey,
		DataDir: dir.Root(), PID: rt.PID, ManagedCluster: rt.ManagedCluster, Services: rt.Services, StartedAt: rt.StartedAt,
	}
	// A secret given through the configuration is never written to disk by the server, so it is
	// read from this command's own configuration (the same environment or file).
	if rt.JWTSecretSet {
		report.JWTSecret = cfg.JWT.Secret
	} else {
		state, err := dir.LoadState()
		if err != nil {
			return statusReport{}, err
		}
		report.JWTSecret = state.JWTSecret
	}
	return report, nil
}

func probeHealth(ctx context.Context, apiURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/health answered %s", resp.Status)
	}
	return nil
}

func printStatusTable(w io.Writer, r statusReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	secret := r.JWTSecret
	if secret == "" {
		secret = "(set in the server's configuration)"
	}
	anonKey, serviceKey := r.AnonKey, r.ServiceRoleKey
	if anonKey == "" {
		anonKey, serviceKey = legacyKeysOff, legacyKeysOff
	}
	rows := [][2]string{
		{"API URL", r.APIURL},
		{"DB URL", r.DBURL},
		{"JWT secret", secret},
		{"anon key", anonKey},
		{"service_role key", serviceKey},
		{"data dir", r.DataDir},
		{"pid", fmt.Sprint(r.PID)},
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s:\t %s\n", row[0], row[1])
	}
	tw.Flush()
}
