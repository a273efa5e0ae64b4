package cli

import (
	"fmt"
	"io"

	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/db"
)

// printBanner tells the person who ran `goforward serve` how to reach what just started. It
// goes to stdout, not to the log: the keys are meant for this person, and logs never carry them.
func printBanner(w io.Writer, rt datadir.Runtime, dir datadir.Dir) {
	// The managed cluster's URL is printed whole, as `supabase start` does; a URL the user
	// supplied keeps its password to itself.
	dbURL := rt.DBURL
	if !rt.ManagedCluster {
		dbURL = db.RedactURL(dbURL)
	}
	fmt.Fprintf(w, `
Go Forward is running.

         API URL: %s
          DB URL: %s
        anon key: %s
service_role key: %s
        data dir: %s

Run "goforward status --data-dir %s" for the JWT secret. Stop with Ctrl-C.

`, rt.APIURL, dbURL, rt.AnonKey, rt.ServiceRoleKey, dir.Root(), dir.Root())
}
