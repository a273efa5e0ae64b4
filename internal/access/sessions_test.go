package access

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestSessionIDsThatAreNotUUIDsNameNoSession: a malformed id from a URL is an unknown
// session, never a database error (which would answer 500).
func TestSessionIDsThatAreNotUUIDsNameNoSession(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	s := NewSessions(SessionConfig{IdleTimeout: time.Minute, MaxAge: time.Hour}, nil)
	ctx := context.Background()
	for _, id := range []string{"not-a-uuid", "", "{00000000-0000-0000-0000-000000000000}", "00000000000000000000000000000000"} {
		ended, err := s.Revoke(ctx, db.Pool, id, "test")
		require.NoError(t, err, id)
		require.False(t, ended, id)
		_, err = s.Get(ctx, db.Pool, id)
		require.ErrorIs(t, err, ErrSessionInvalid, id)
	}
	o, err := s.Create(ctx, db.Pool, NewSession{Kind: KindEmergency, Level: SystemAdmin, Capabilities: For(SystemAdmin, nil, nil), Reason: "test"})
	require.NoError(t, err)
	got, err := s.Get(ctx, db.Pool, o.ID)
	require.NoError(t, err)
	require.Equal(t, o.ID, got.ID)
	ended, err := s.Revoke(ctx, db.Pool, o.ID, "test")
	require.NoError(t, err)
	require.True(t, ended)
	_, err = s.Get(ctx, db.Pool, o.ID)
	require.ErrorIs(t, err, ErrSessionInvalid)
}
