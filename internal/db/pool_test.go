package db

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactURLHidesPasswords(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://app:s3cret@127.0.0.1:5432/db?sslmode=disable": "postgres://app:redacted@127.0.0.1:5432/db?sslmode=disable",
		"postgres://app:s3cret@/db?host=%2Fsrv%2Frun&port=5432":   "postgres://app:redacted@/db?host=%2Fsrv%2Frun&port=5432",
		"postgres://db.example/app?password=s3cret&user=app":      "postgres://db.example/app?password=redacted&user=app",
		"host=db user=app password=s3cret":                        "[redacted dsn]",
		"postgres://app:s3cret@/db":                               "[redacted dsn]",
		"redis://:s3cret@127.0.0.1:6379/0":                        "redis://:redacted@127.0.0.1:6379/0",
	} {
		got := RedactURL(in)
		require.Equal(t, want, got, in)
		require.NotContains(t, got, "s3cret")
	}
}
