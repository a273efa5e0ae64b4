package pgmeta

import (
	"os"
	"testing"
)

func TestZZPrintSQL(t *testing.T) {
	os.WriteFile("/tmp/tables_full.sql", []byte(resources[0].sql), 0o644)
}
