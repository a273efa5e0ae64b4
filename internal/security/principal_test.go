package security_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/security"
)

func TestPrincipalContext(t *testing.T) {
	t.Parallel()
	_, ok := security.PrincipalFrom(context.Background())
	require.False(t, ok)
	require.NoError(t, security.AuthErrorFrom(context.Background()))

	p := security.Principal{Role: "authenticated", Subject: "u1", Claims: json.RawMessage(`{"role":"authenticated"}`), Token: "t"}
	authErr := errors.New("bad bearer")
	ctx := security.WithAuthError(security.WithPrincipal(context.Background(), p), authErr)

	got, ok := security.PrincipalFrom(ctx)
	require.True(t, ok)
	require.Equal(t, p, got)
	require.Same(t, authErr, security.AuthErrorFrom(ctx))
}

func TestPrincipalNeverLogsItsToken(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	p := security.Principal{Role: "authenticated", Subject: "u1", Claims: json.RawMessage(`{"email":"ada@example.com"}`), Token: "eyJsecret.token.value"}

	logger.Info("request", "principal", p)

	require.Contains(t, buf.String(), `"role":"authenticated"`)
	require.Contains(t, buf.String(), `"sub":"u1"`)
	require.NotContains(t, buf.String(), "eyJsecret")
	require.NotContains(t, buf.String(), "ada@example.com")
}

func TestSameToken(t *testing.T) {
	t.Parallel()
	require.True(t, security.SameToken("abc", "abc"))
	require.False(t, security.SameToken("abc", "abd"))
	require.False(t, security.SameToken("abc", "abcd"))
	require.False(t, security.SameToken("", "a"))
}

func TestGenerateSecret(t *testing.T) {
	t.Parallel()
	a, err := security.GenerateSecret()
	require.NoError(t, err)
	b, err := security.GenerateSecret()
	require.NoError(t, err)

	require.Len(t, a, 64)
	raw, err := hex.DecodeString(a)
	require.NoError(t, err)
	require.Len(t, raw, 32)
	require.NotEqual(t, a, b)

	_, err = security.NewKeys([]byte(a), "", fixedTime)
	require.NoError(t, err, "a generated secret is long enough for NewKeys")
}
