package cli

import (
	"fmt"
	"io"

	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/security"
)

// legacyKeysOff stands in the banner and `goforward status` for the legacy keys when
// auth.legacy_keys is false: they would be refused, so printing them only misleads.
const legacyKeysOff = "disabled (auth.legacy_keys: false; use goforward keys create)"

// legacyKeys are the legacy anon and service-role keys the runtime record keeps for the
// banner and `goforward status`: none when the node refuses them.
func legacyKeys(keys *security.Keys) (anon, serviceRole string) {
	if keys.LegacyKeysDisabled() {
		return "", ""
	}
	return keys.AnonKey(), keys.ServiceRoleKey()
}

// bannerInfo is what the start banner shows besides the runtime record.
type bannerInfo struct {
	environment string
	// secrets prints the service-role key and the managed cluster's superuser URL whole. Only
	// in development: elsewhere stdout is usually captured by a process manager or a container
	// log, which would keep the keys to the whole database for anyone who reads the logs.
	secrets  bool
	warnings []string // printed under the banner, where the person who started it sees them
}

// printBanner tells the person who ran `goforward serve` how to reach what just started. It
// goes to stdout, not to the log: in development the keys are meant for this person, and logs
// never carry them. Outside development the secrets stay with `goforward status`, which reads
// them from the data directory (mode 0600).
func printBanner(w io.Writer, rt datadir.Runtime, dir datadir.Dir, info bannerInfo) {
	// The managed cluster's URL is printed whole in development, as `supabase start` does; a
	// URL the user supplied keeps its password to itself.
	dbURL := rt.DBURL
	if !rt.ManagedCluster || !info.secrets {
		dbURL = db.RedactURL(dbURL)
	}
	anonKey, serviceKey := rt.AnonKey, rt.ServiceRoleKey
	switch {
	case anonKey == "":
		anonKey, serviceKey = legacyKeysOff, legacyKeysOff
	case !info.secrets:
		serviceKey = fmt.Sprintf("not shown outside development (run \"goforward status --data-dir %s\")", dir.Root())
	}
	fmt.Fprintf(w, `
Go Forward is running (environment %s).
         API URL: %s
          DB URL: %s
        anon key: %s
service_role key: %s
        data dir: %s
Run "goforward status --data-dir %s" for the JWT secret. Stop with Ctrl-C.
`, info.environment, rt.APIURL, dbURL, anonKey, serviceKey, dir.Root(), dir.Root())
	for _, warning := range info.warnings {
		fmt.Fprintf(w, "\nWARNING: %s\n", warning)
	}
}
