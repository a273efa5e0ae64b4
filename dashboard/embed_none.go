//go:build no_dashboard

package dashboard

import "io/fs"

// Files returns nil: this binary was built with the no_dashboard tag, and / says so.
func Files() fs.FS { return nil }
