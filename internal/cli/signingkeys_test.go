package cli

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/signingkeys"
)

// TestSigningKeyCommands: rotate-signing-key moves an HS256 data directory to ES256 and on
// (standby → current → previous), signing-keys lists them, revoke-previous-signing-keys
// revokes, rotate-jwt-secret re-seals the private keys so that the new secret alone opens
// them, and every change is audited as the CLI's.
func TestSigningKeyCommands(t *testing.T) {
	t.Parallel()
	s := newKeysSetup(t)
	code, _, errOut := s.run(t, "keys", "rotate-signing-key")
	require.Equal(t, 2, code, "no data directory state and no jwt.secret: nothing to seal with")
	require.Contains(t, errOut, "no JWT secret")
	s.state(t) // the server's first start
	code, out, errOut := s.run(t, "keys", "signing-keys")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "No signing keys")

	code, out, errOut = s.run(t, "keys", "rotate-signing-key", "--json")
	require.Equal(t, 0, code, errOut)
	var first rotatedSigningKeys
	require.NoError(t, json.Unmarshal([]byte(out), &first))
	require.Equal(t, security.AlgES256, first.Current.Algorithm)
	require.Equal(t, security.AlgES256, first.Standby.Algorithm)
	require.Empty(t, first.Previous)

	code, out, errOut = s.run(t, "keys", "rotate-signing-key", "--algorithm", "rs256", "--json")
	require.Equal(t, 0, code, errOut)
	var second rotatedSigningKeys
	require.NoError(t, json.Unmarshal([]byte(out), &second))
	require.Equal(t, first.Standby.ID, second.Current.ID, "the standby key signs next")
	require.Equal(t, security.AlgRS256, second.Standby.Algorithm)
	require.Len(t, second.Previous, 1)
	require.Equal(t, first.Current.ID, second.Previous[0].ID)

	code, _, errOut = s.run(t, "keys", "rotate-signing-key", "--algorithm", "HS512")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "ES256 or RS256")

	code, out, errOut = s.run(t, "keys", "signing-keys")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, second.Current.ID+"  ES256      current")
	require.Contains(t, out, "previous")

	// The node's own keys open the ring; after rotate-jwt-secret (no server running) the new
	// secret alone does.
	cfg := controlConfig(s.dataDir)
	keys, _, err := nodeKeys(cfg, s.state(t))
	require.NoError(t, err)
	_, err = signingkeys.Load(t.Context(), s.db.Pool, keys)
	require.NoError(t, err)
	code, _, errOut = s.run(t, "keys", "rotate-jwt-secret", "--json")
	require.Equal(t, 0, code, errOut)
	st := s.state(t)
	st.PreviousJWTSecret, st.PreviousJWTSecretValidUntil = "", 0
	onlyNew, _, err := nodeKeys(cfg, st)
	require.NoError(t, err)
	ring, err := signingkeys.Load(t.Context(), s.db.Pool, onlyNew)
	require.NoError(t, err, "the private keys were re-sealed with the new secret")
	require.Equal(t, second.Current.ID, ring.CurrentKeyID())

	code, out, errOut = s.run(t, "keys", "revoke-previous-signing-keys", "--json")
	require.Equal(t, 0, code, errOut)
	var revoked struct {
		Revoked []signingkeys.Key `json:"revoked"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &revoked))
	require.Len(t, revoked.Revoked, 1)
	require.Equal(t, first.Current.ID, revoked.Revoked[0].ID)

	var actions []string
	rows, err := s.db.Pool.Query(t.Context(), `SELECT action || ':' || actor_type FROM goforward.audit_log WHERE action LIKE 'signing_key.%' ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var a string
		require.NoError(t, rows.Scan(&a))
		actions = append(actions, a)
	}
	require.Equal(t, []string{"signing_key.rotate:cli", "signing_key.rotate:cli", "signing_key.revoke:cli"}, actions)
}
