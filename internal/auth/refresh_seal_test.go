package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealedChildOpensOnlyWithItsParentAndRow(t *testing.T) {
	t.Parallel()
	const session, other = "0b7c2f7e-1111-4000-8000-000000000001", "0b7c2f7e-1111-4000-8000-000000000002"
	parent, child := "parent-token-abcdefghijklmn", "child-token-abcdefghijklmno"
	sealed := sealChild(parent, child, session)
	require.NotContains(t, sealed, child)
	require.NotEqual(t, sealed, sealChild(parent, child, session), "a fresh nonce each time")

	got, err := openChild(parent, sealed, session, sha256Hex(child))
	require.NoError(t, err)
	require.Equal(t, child, got)

	for name, open := range map[string]func() (string, error){
		"another parent":    func() (string, error) { return openChild("another-token", sealed, session, sha256Hex(child)) },
		"another session":   func() (string, error) { return openChild(parent, sealed, other, sha256Hex(child)) },
		"another row":       func() (string, error) { return openChild(parent, sealed, session, sha256Hex("someone-else")) },
		"truncated":         func() (string, error) { return openChild(parent, sealed[:10], session, sha256Hex(child)) },
		"not base64":        func() (string, error) { return openChild(parent, "%%%", session, sha256Hex(child)) },
		"flipped character": func() (string, error) { return openChild(parent, flip(sealed), session, sha256Hex(child)) },
	} {
		got, err := open()
		require.Error(t, err, name)
		require.Empty(t, got, name)
	}
}

func flip(s string) string {
	i := len(s) / 2
	c := "A"
	if s[i] == 'A' {
		c = "B"
	}
	return s[:i] + c + s[i+1:]
}

func TestSealedChildErrorsNeverEchoTokens(t *testing.T) {
	t.Parallel()
	_, err := openChild("secret-parent", sealChild("secret-parent", "secret-child", "s"), "s", "nope")
	require.Error(t, err)
	require.False(t, strings.Contains(err.Error(), "secret"))
}
