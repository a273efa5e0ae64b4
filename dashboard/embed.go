//go:build !no_dashboard

// Package dashboard holds the admin dashboard's static export (out/, built from this
// directory's Next.js sources by `npm run build`), embedded so that `go build` needs no Node.
// internal/dashboard serves it at /; build with -tags no_dashboard to leave it out.
package dashboard

import (
	"embed"
	"io/fs"
)

// The all: prefix keeps out/_next/, which an embed pattern would skip for its underscore.
//
//go:embed all:out
var files embed.FS

// Files returns the export's root (index.html, _next/…), or nil when the binary was built
// with the no_dashboard tag.
func Files() fs.FS {
	sub, err := fs.Sub(files, "out")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "out" is valid.
		panic(err)
	}
	return sub
}
