// Package migrations holds Go Forward's internal schema as numbered, forward-only SQL files.
//
// The files are embedded in the binary and applied at start by db.Migrate, in the order of
// their numeric prefix, inside one transaction under an advisory lock. A file that has been
// applied must never change: its checksum is recorded and a mismatch stops the start.
package migrations

import "embed"

// FS holds the internal schema files (NNNN_name.sql).
//
//go:embed *.sql
var FS embed.FS
