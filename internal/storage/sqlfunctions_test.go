package storage_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
)

// TestPathFunctionsMatchSupabase checks storage.foldername, filename and extension, which
// policies written for Supabase call, against what Supabase's own definitions return,
// including their edge cases: the extension is what follows the last dot of the last
// segment, or the whole last segment when it has no dot. They run as authenticated, as a
// policy evaluating them for a signed-in user does.
func TestPathFunctionsMatchSupabase(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	cases := []struct {
		fn, name string
		want     *string // nil: NULL
	}{
		{"foldername", "a/b/c.png", ptr("{a,b}")},
		{"foldername", "user-1/avatar.png", ptr("{user-1}")},
		{"foldername", "c.png", ptr("{}")},
		{"foldername", "a/b/", ptr("{a,b}")},
		{"foldername", "a//b", ptr(`{a,""}`)},

		{"filename", "a/b/c.png", ptr("c.png")},
		{"filename", "c.png", ptr("c.png")},
		{"filename", "a/b/", ptr("")},
		{"filename", "folder/.emptyFolderPlaceholder", ptr(".emptyFolderPlaceholder")},

		{"extension", "a/b/c.tar.gz", ptr("gz")},
		{"extension", "photo.PNG", ptr("PNG")},
		{"extension", "a/README", ptr("README")},
		{"extension", "v1.2/notes", ptr("notes")},
		{"extension", "a/.env", ptr("env")},
		{"extension", "a/trailing.", ptr("")},
		{"extension", "a/b/", ptr("")},
		{"extension", "", nil},
		{"filename", "", nil},
		{"foldername", "", nil},
	}
	tx, err := db.Pool.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(t.Context()) }()
	_, err = tx.Exec(t.Context(), `SET LOCAL ROLE authenticated`)
	require.NoError(t, err)
	for _, c := range cases {
		var got *string
		require.NoError(t, tx.QueryRow(t.Context(), `SELECT storage.`+pgx.Identifier{c.fn}.Sanitize()+`($1)::text`, c.name).Scan(&got),
			"%s(%q)", c.fn, c.name)
		require.Equal(t, c.want, got, "%s(%q)", c.fn, c.name)
	}
}

func ptr(s string) *string { return &s }
