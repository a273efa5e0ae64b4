package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
)

// fakeUsers stands in for auth's user management, which this package may not import: just
// enough of auth.users for the manager's checks (id, e-mail, app_metadata) and a record of
// the calls. auth's own tests cover the real methods, and tests/e2e the two together.
type fakeUsers struct {
	pool  *pgxpool.Pool
	mu    sync.Mutex
	calls []string
}

var _ Users = (*fakeUsers)(nil)

func (f *fakeUsers) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeUsers) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

const fakeUserJSON = `SELECT json_build_object('id', id, 'email', coalesce(email, ''),
  'app_metadata', coalesce(raw_app_meta_data, '{}'), 'banned_until', banned_until, 'deleted_at', deleted_at)
FROM auth.users WHERE id = $1`

func fakeNotFound() error {
	return httpx.NewError(http.StatusNotFound, CodeUserNotFound, "User not found")
}

func (f *fakeUsers) read(ctx context.Context, q pgx.Tx, id string, lock bool) (json.RawMessage, error) {
	if !isUUID(id) {
		return nil, fakeNotFound()
	}
	sql := fakeUserJSON
	if lock {
		sql += ` FOR UPDATE`
	}
	var raw json.RawMessage
	err := q.QueryRow(ctx, sql, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fakeNotFound()
	}
	return raw, err
}

func (f *fakeUsers) AdminLockUser(ctx context.Context, tx pgx.Tx, id string) (json.RawMessage, error) {
	return f.read(ctx, tx, id, true)
}

func (f *fakeUsers) AdminFindUserID(ctx context.Context, tx pgx.Tx, email string) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT id::text FROM auth.users WHERE email = lower($1)`, email).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

func (f *fakeUsers) AdminListUsers(ctx context.Context, _ url.Values, groups []string) (json.RawMessage, error) {
	f.record("list " + strings.Join(groups, ","))
	var raw json.RawMessage
	err := f.pool.QueryRow(ctx, `SELECT json_build_object('users', coalesce(json_agg(json_build_object('id', id, 'email', email) ORDER BY email), '[]'),
  'total', count(*)) FROM auth.users
WHERE $1::text[] IS NULL OR raw_app_meta_data -> 'groups' ?| $1::text[]`, groups).Scan(&raw)
	return raw, err
}

func (f *fakeUsers) AdminCreateUser(ctx context.Context, tx pgx.Tx, by access.Principal, _ audit.Client, body json.RawMessage) (json.RawMessage, error) {
	var params struct {
		Email       string         `json:"email"`
		Password    string         `json:"password"`
		AppMetadata map[string]any `json:"app_metadata"`
	}
	if err := json.Unmarshal(body, &params); err != nil {
		return nil, err
	}
	if params.Password == "weak" {
		return nil, httpx.NewError(http.StatusUnprocessableEntity, "weak_password", "Password should be at least 8 characters.")
	}
	if params.AppMetadata == nil {
		params.AppMetadata = map[string]any{}
	}
	var id string
	if err := tx.QueryRow(ctx, `INSERT INTO auth.users (aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
VALUES ('authenticated', 'authenticated', lower($1), $2, '{}', now(), now()) RETURNING id::text`, params.Email, params.AppMetadata).Scan(&id); err != nil {
		return nil, err
	}
	f.record("create " + params.Email + " by " + string(by.Kind))
	return f.read(ctx, tx, id, false)
}

func (f *fakeUsers) AdminUpdateUser(ctx context.Context, tx pgx.Tx, _ access.Principal, _ audit.Client, id string, body json.RawMessage) (json.RawMessage, error) {
	var params struct {
		AppMetadata map[string]any `json:"app_metadata"`
	}
	if err := json.Unmarshal(body, &params); err != nil {
		return nil, err
	}
	if params.AppMetadata != nil {
		if _, err := tx.Exec(ctx, `UPDATE auth.users SET raw_app_meta_data = coalesce(raw_app_meta_data, '{}') || $2 WHERE id = $1`,
			id, params.AppMetadata); err != nil {
			return nil, err
		}
	}
	f.record("update " + id)
	return f.read(ctx, tx, id, false)
}

func (f *fakeUsers) AdminDeleteUser(ctx context.Context, tx pgx.Tx, _ access.Principal, _ audit.Client, id string, soft bool) error {
	sql := `DELETE FROM auth.users WHERE id = $1`
	if soft {
		sql = `UPDATE auth.users SET email = NULL, deleted_at = now() WHERE id = $1`
	}
	f.record("delete " + id)
	_, err := tx.Exec(ctx, sql, id)
	return err
}

func (f *fakeUsers) AdminBanUser(ctx context.Context, tx pgx.Tx, _ access.Principal, _ audit.Client, id, duration string) (json.RawMessage, error) {
	sql := `UPDATE auth.users SET banned_until = now() + $2::interval WHERE id = $1`
	if duration == "none" {
		sql, duration = `UPDATE auth.users SET banned_until = NULL WHERE id = $1 AND $2 <> ''`, "-"
	}
	if _, err := tx.Exec(ctx, sql, id, duration); err != nil {
		return nil, err
	}
	f.record("ban " + id + " " + duration)
	return f.read(ctx, tx, id, false)
}

func (f *fakeUsers) AdminUnlockUser(_ context.Context, _ pgx.Tx, _ access.Principal, _ audit.Client, id string) (int64, error) {
	f.record("unlock " + id)
	return 2, nil
}

func (f *fakeUsers) AdminSignOutUser(_ context.Context, _ pgx.Tx, _ access.Principal, _ audit.Client, id string) (int64, error) {
	f.record("sign_out " + id)
	return 3, nil
}

func (f *fakeUsers) AdminResetMFA(_ context.Context, _ pgx.Tx, _ access.Principal, _ audit.Client, id string) (int, error) {
	f.record("reset_mfa " + id)
	return 1, nil
}

func (f *fakeUsers) AdminSendRecovery(_ context.Context, _ pgx.Tx, _ access.Principal, _ audit.Client, id string) error {
	f.record("recover " + id)
	return nil
}
