package pgmeta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgmeta"
	"github.com/goforward/goforward/internal/servicetest"
)

// harness is the meta service behind the real gateway, on a database of its own.
type harness struct {
	*servicetest.Env
	sessions *access.Sessions
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, pgmeta.Config{})
}

// newHarnessWith is newHarness with the service configured by cfg.
func newHarnessWith(t testing.TB, cfg pgmeta.Config) *harness {
	t.Helper()
	h := &harness{sessions: access.NewSessions(access.SessionConfig{IdleTimeout: time.Hour, MaxAge: 12 * time.Hour}, nil)}
	h.Env = servicetest.New(t, func(env *servicetest.Env) []gateway.Service {
		svc := pgmeta.New(cfg, pgmeta.Deps{Pool: env.DB.Pool, Sessions: h.sessions, Keys: env.Keys, Logger: env.Logger})
		t.Cleanup(svc.Close)
		return []gateway.Service{{Name: "meta", Prefix: pgmeta.Prefix, Mount: svc.Mount, Open: pgmeta.OpenPaths}}
	})
	return h
}

// exec runs SQL as the owner.
func (h *harness) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := h.DB.Pool.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

// adminToken signs in an admin of level l: a user, its admins row and a session.
func (h *harness) adminToken(t *testing.T, l access.Level) string {
	t.Helper()
	ctx := context.Background()
	var id string
	require.NoError(t, h.DB.Pool.QueryRow(ctx, `INSERT INTO auth.users (id, aud, role, email, created_at, updated_at)
VALUES (gen_random_uuid(), 'authenticated', 'authenticated', gen_random_uuid() || '@example.com', now(), now()) RETURNING id`).Scan(&id))
	h.exec(t, `INSERT INTO goforward.admins (user_id, level, granted_via, granted_at, updated_at) VALUES ($1, $2, 'cli', now(), now())`, id, string(l))
	o, err := h.sessions.Create(ctx, h.DB.Pool, access.NewSession{UserID: id, Kind: access.KindAdmin, Level: l, Capabilities: access.For(l, nil, nil)})
	require.NoError(t, err)
	return o.Token
}

// get calls GET path with the service-role key.
func (h *harness) get(t *testing.T, path string) servicetest.Response {
	t.Helper()
	return h.Do(t, servicetest.Request{Method: "GET", Path: path, Key: h.ServiceRoleKey()})
}

// getJSON calls GET path with the service-role key, expects 200 and decodes the body.
func (h *harness) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	res := h.get(t, path)
	require.Equal(t, 200, res.Status, "GET %s: %s", path, res.Body)
	res.JSON(t, v)
}

// object is a decoded JSON object.
type object = map[string]any

// find returns the first item whose fields equal those of match.
func find(t *testing.T, items []object, match object) object {
	t.Helper()
	for _, it := range items {
		ok := true
		for k, v := range match {
			if !jsonEqual(it[k], v) {
				ok = false
				break
			}
		}
		if ok {
			return it
		}
	}
	require.Failf(t, "no item matches", "%v in %v", match, items)
	return nil
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// keys returns an object's keys in the order the body has them.
func keys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytesReader(raw))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var out []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		out = append(out, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return out
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
