package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
)

// keysSetup is a data directory whose configuration names an external (test) database, so
// that the keys commands run without a managed cluster.
type keysSetup struct {
	db      *pgtest.Database
	dataDir string
	cfgFile string
}

func newKeysSetup(t *testing.T) keysSetup {
	t.Helper()
	s := keysSetup{db: pgtest.NewDatabase(t), dataDir: filepath.Join(t.TempDir(), "data")}
	s.cfgFile = filepath.Join(t.TempDir(), "goforward.yaml")
	body := fmt.Sprintf("data_dir: %q\ndatabase:\n  url: %q\n", s.dataDir, s.db.URL)
	require.NoError(t, os.WriteFile(s.cfgFile, []byte(body), 0o600))
	return s
}

// run runs a goforward command line against the setup and returns its exit code and output.
func (s keysSetup) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), append([]string{"--config", s.cfgFile}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func (s keysSetup) state(t *testing.T) datadir.State {
	t.Helper()
	dir, err := datadir.New(s.dataDir)
	require.NoError(t, err)
	require.NoError(t, dir.Ensure())
	st, err := dir.LoadOrCreateState()
	require.NoError(t, err)
	return st
}

func TestKeysCreateListRevoke(t *testing.T) {
	t.Parallel()
	s := newKeysSetup(t)
	code, out, errOut := s.run(t, "keys", "create", "--name", "web", "--kind", "publishable", "--json")
	require.Equal(t, 0, code, errOut)
	var web apikeys.Created
	require.NoError(t, json.Unmarshal([]byte(out), &web))
	require.True(t, strings.HasPrefix(web.APIKey, security.PublishableKeyPrefix))

	code, out, errOut = s.run(t, "keys", "create", "--name", "jobs", "--kind", "secret", "--service", "rest", "--table", "public.items", "--expires-in", "1h")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, security.SecretKeyPrefix)
	require.Contains(t, out, "not shown again")

	code, out, _ = s.run(t, "keys", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "services=rest tables=public.items")
	require.Contains(t, out, web.Prefix)
	require.NotContains(t, out, web.APIKey, "a list never shows a key")

	code, _, errOut = s.run(t, "keys", "create", "--name", "web", "--kind", "secret")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already has this name")
	code, _, errOut = s.run(t, "keys", "create", "--name", "x", "--kind", "secret", "--service", "mail")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--service: unknown service")

	code, out, errOut = s.run(t, "keys", "revoke", "web")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Revoked publishable key \"web\"")
	code, out, _ = s.run(t, "keys", "list", "--json")
	require.Equal(t, 0, code)
	var live []apikeys.Key
	require.NoError(t, json.Unmarshal([]byte(out), &live))
	require.Len(t, live, 1)
	require.Equal(t, "jobs", live[0].Name)
	code, _, errOut = s.run(t, "keys", "revoke", "web")
	require.Equal(t, 1, code, "a revoked key is no longer found by name")
	require.Contains(t, errOut, "no live API key")

	var actions []string
	rows, err := s.db.Pool.Query(t.Context(), `SELECT action || ':' || actor_type FROM goforward.audit_log WHERE action LIKE 'api_key.%' ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var a string
		require.NoError(t, rows.Scan(&a))
		actions = append(actions, a)
	}
	require.Equal(t, []string{"api_key.create:cli", "api_key.create:cli", "api_key.revoke:cli"}, actions)
}

// TestRotateJWTSecretKeepsSessionsAndMFA: after `keys rotate-jwt-secret` and a restart, a
// session of the old secret still works through the grace period, the new legacy keys are
// the ones printed, and a TOTP user signs in with their second factor, also once the old
// secret is gone altogether.
func TestRotateJWTSecretKeepsSessionsAndMFA(t *testing.T) {
	t.Parallel()
	s := newKeysSetup(t)
	cfg := controlConfig(s.dataDir)
	oldKeys, _, err := nodeKeys(cfg, s.state(t))
	require.NoError(t, err)
	before := newAdminEnv(t, adminEnvOptions{keys: oldKeys, db: s.db})
	email := "totp@example.com"
	before.createUser(t, email)
	factorID, secret, aal2 := before.enrolledTOTP(t, email)

	code, out, errOut := s.run(t, "keys", "rotate-jwt-secret", "--grace", "1h", "--json")
	require.Equal(t, 0, code, errOut)
	var res struct {
		AnonKey    string `json:"anon_key"`
		MFASecrets struct {
			Resealed int `json:"resealed"`
		} `json:"mfa_secrets"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, 1, res.MFASecrets.Resealed)
	require.NotEqual(t, oldKeys.AnonKey(), res.AnonKey)

	steps := 0
	signInWithTOTP := func(e *adminEnv) {
		t.Helper()
		// Each env has its own clock, ten minutes behind: move it past the steps used
		// before, which are refused as replays.
		steps++
		e.clock.Advance(time.Duration(steps) * time.Minute)
		token := e.userSession(t, email)
		r := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/factors/" + factorID + "/challenge", Token: token, Body: map[string]any{}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r = e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/factors/" + factorID + "/verify", Token: token,
			Body: map[string]any{"challenge_id": jsonOf(t, r)["id"].(string), "code": e.totpCode(t, secret)}})
		require.Equal(t, http.StatusOK, r.Status, "MFA after the rotation: %s", r.Body)
	}

	// The restart: the node's keys now come from the rotated state.
	rotated := s.state(t)
	newKeys, _, err := nodeKeys(cfg, rotated)
	require.NoError(t, err)
	require.Equal(t, res.AnonKey, newKeys.AnonKey(), "the printed anon key is the node's")
	during := newAdminEnv(t, adminEnvOptions{keys: newKeys, db: s.db})
	r := during.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/user", Token: aal2})
	require.Equal(t, http.StatusOK, r.Status, "the old session within the grace period: %s", r.Body)
	r = during.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/user", Key: oldKeys.AnonKey(), Token: aal2})
	require.Equal(t, http.StatusOK, r.Status, "the old anon key within the grace period: %s", r.Body)
	signInWithTOTP(during)

	// Long after: the previous secret is forgotten (its grace is over, and a next rotation
	// would drop it), and MFA still works because the secrets were re-sealed.
	rotated.PreviousJWTSecret, rotated.PreviousJWTSecretValidUntil = "", 0
	onlyNew, _, err := nodeKeys(cfg, rotated)
	require.NoError(t, err)
	require.False(t, onlyNew.HasPreviousSecret())
	later := newAdminEnv(t, adminEnvOptions{keys: onlyNew, db: s.db})
	r = later.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/user", Key: oldKeys.AnonKey()})
	require.Equal(t, http.StatusUnauthorized, r.Status, "the old anon key after the grace period: %s", r.Body)
	signInWithTOTP(later)

	var audited int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM goforward.audit_log WHERE action = 'jwt_secret.rotate' AND actor_type = 'cli'`).Scan(&audited))
	require.Equal(t, 1, audited)
}

// TestConfiguredSecretRotation: a configured secret is rotated in the configuration, with
// jwt.previous_secret for the grace period; the start re-seals TOTP secrets, so MFA works
// once the previous secret is gone.
func TestConfiguredSecretRotation(t *testing.T) {
	t.Parallel()
	s := newKeysSetup(t)
	cfg := controlConfig(s.dataDir)
	cfg.JWT.Secret = strings.Repeat("o", 40)
	oldKeys, _, err := nodeKeys(cfg, s.state(t))
	require.NoError(t, err)
	before := newAdminEnv(t, adminEnvOptions{keys: oldKeys, db: s.db})
	email := "configured@example.com"
	before.createUser(t, email)
	factorID, secret, aal2 := before.enrolledTOTP(t, email)

	cfg.JWT.PreviousSecret, cfg.JWT.Secret = cfg.JWT.Secret, strings.Repeat("n", 40)
	cfg.JWT.PreviousSecretValidUntil = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	require.NoError(t, cfg.Validate())
	during, _, err := nodeKeys(cfg, s.state(t))
	require.NoError(t, err)
	require.True(t, during.HasPreviousSecret())
	require.NoError(t, resealMFASecrets(t.Context(), s.db.Pool, during, before.Logger), "what serve does as it starts")
	e := newAdminEnv(t, adminEnvOptions{keys: during, db: s.db})
	r := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/user", Token: aal2})
	require.Equal(t, http.StatusOK, r.Status, "the old session within the grace period: %s", r.Body)

	cfg.JWT.PreviousSecret, cfg.JWT.PreviousSecretValidUntil = "", ""
	after, _, err := nodeKeys(cfg, s.state(t))
	require.NoError(t, err)
	later := newAdminEnv(t, adminEnvOptions{keys: after, db: s.db})
	later.clock.Advance(time.Minute)
	token := later.userSession(t, email)
	r = later.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/factors/" + factorID + "/challenge", Token: token, Body: map[string]any{}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = later.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/factors/" + factorID + "/verify", Token: token,
		Body: map[string]any{"challenge_id": jsonOf(t, r)["id"].(string), "code": later.totpCode(t, secret)}})
	require.Equal(t, http.StatusOK, r.Status, "MFA after the rotation: %s", r.Body)
}

func TestRotateRefusesAConfiguredSecret(t *testing.T) {
	t.Parallel()
	s := newKeysSetup(t)
	require.NoError(t, os.WriteFile(s.cfgFile, []byte(fmt.Sprintf("data_dir: %q\njwt:\n  secret: %q\n", s.dataDir, strings.Repeat("s", 40))), 0o600))
	code, _, errOut := s.run(t, "keys", "rotate-jwt-secret")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "comes from the configuration")
}

// TestLegacyKeysDisabled: with auth.legacy_keys false the node refuses the anon and
// service-role JWT keys everywhere, while publishable and secret keys and users' tokens work.
func TestLegacyKeysDisabled(t *testing.T) {
	t.Parallel()
	s := newKeysSetup(t)
	cfg := controlConfig(s.dataDir)
	cfg.Auth.LegacyKeys = false
	keys, _, err := nodeKeys(cfg, s.state(t))
	require.NoError(t, err)
	e := newAdminEnv(t, adminEnvOptions{keys: keys, db: s.db, apiKeys: true})
	for _, legacy := range []string{keys.AnonKey(), keys.ServiceRoleKey()} {
		r := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/settings", Key: legacy})
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
	}
	secret := e.CreateAPIKey(t, apikeys.NewKey{Name: "server", Kind: security.KindSecret}).APIKey
	publishable := e.CreateAPIKey(t, apikeys.NewKey{Name: "web", Kind: security.KindPublishable}).APIKey
	r := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/admin/users", Key: secret,
		Body: map[string]any{"email": "u@example.com", "password": adminPassword, "email_confirm": true}})
	require.Equal(t, http.StatusOK, r.Status, "a secret key does the service role's work: %s", r.Body)
	r = e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password", Key: publishable,
		Body: map[string]any{"email": "u@example.com", "password": adminPassword}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	token := jsonOf(t, r)["access_token"].(string)
	r = e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/user", Key: publishable, Token: token})
	require.Equal(t, http.StatusOK, r.Status, "a user's token under a publishable key: %s", r.Body)
}
