// Package apikeys manages Go Forward's opaque API keys (goforward.api_keys): publishable keys
// (gf_pub_…), which act as the anon role, and secret keys (gf_sec_…), which act as
// service_role limited to their scopes. Keys are created (shown once, stored as a SHA-256),
// listed and revoked here, by the admin API and the CLI alike; the Verifier keeps every live
// key of the database in memory for the gateway, reloads when any node changes one, and
// writes when a key was last used in rare batches.
//
// It is a base package: the gateway, the admin service and the CLI use it.
package apikeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/security"
)

// MetricsScope is the service name that lets a secret key read /metrics.
const MetricsScope = "metrics"

// maxNameLength bounds a key's name (the database checks it too).
const maxNameLength = 100

// Errors of the management functions. Validation failures are *ValidationError.
var (
	ErrNotFound  = errors.New("apikeys: no such api key")
	ErrNameTaken = errors.New("apikeys: a live api key already has this name")
	// ErrTooWide: a key may only create keys no wider than itself.
	ErrTooWide = errors.New("apikeys: the new key's scopes are wider than the creating key's")
)

// ValidationError is a field of a new key that is not acceptable, in words for the client.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Querier is what keys are read and written through: a pool or a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Actor is who created or revoked a key, as the audit log names it.
type Actor struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
}

func actorOf(a audit.Actor) Actor { return Actor{Type: a.Type, ID: a.ID, Email: a.Email} }

// Key is one API key as listed: never the key itself.
type Key struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Kind       string            `json:"kind"`
	Prefix     string            `json:"prefix"`
	Scopes     security.KeyScope `json:"scopes"`
	CreatedAt  time.Time         `json:"created_at"`
	CreatedBy  Actor             `json:"created_by"`
	ExpiresAt  *time.Time        `json:"expires_at"`
	LastUsedAt *time.Time        `json:"last_used_at"`
	RevokedAt  *time.Time        `json:"revoked_at"`
	RevokedBy  *Actor            `json:"revoked_by,omitempty"`
}

// Created is a new key with its secret, which exists only in this value: it is shown once.
type Created struct {
	Key
	APIKey string `json:"api_key"`
}

// NewKey describes a key to create.
type NewKey struct {
	Name      string
	Kind      string // security.KindPublishable or security.KindSecret
	Scopes    security.KeyScope
	ExpiresAt *time.Time // nil: never
	// Limit, when set, is the scope of the key creating this one: the new key must be no
	// wider (ErrTooWide).
	Limit *security.KeyScope
}

// KnownServices are the names a scope's services may list.
func KnownServices() []string { return append(config.KnownServices(), MetricsScope) }

var tableEntry = regexp.MustCompile(`^[^.\s]+\.[^\s]+$`)

// validate checks n and returns it cleaned up (name trimmed, lists sorted without duplicates).
func (n NewKey) validate(now time.Time) (NewKey, error) {
	n.Name = strings.TrimSpace(n.Name)
	switch {
	case n.Name == "":
		return n, &ValidationError{"name", "a name is required"}
	case len([]rune(n.Name)) > maxNameLength:
		return n, &ValidationError{"name", fmt.Sprintf("must be at most %d characters", maxNameLength)}
	case n.Kind != security.KindPublishable && n.Kind != security.KindSecret:
		return n, &ValidationError{"kind", "must be publishable or secret"}
	case n.ExpiresAt != nil && !n.ExpiresAt.After(now):
		return n, &ValidationError{"expires_at", "must be in the future"}
	}
	known := KnownServices()
	for _, s := range n.Scopes.Services {
		if !slices.Contains(known, s) {
			return n, &ValidationError{"scopes.services", fmt.Sprintf("unknown service %q: use %s", s, strings.Join(known, ", "))}
		}
	}
	for _, t := range n.Scopes.Tables {
		if !tableEntry.MatchString(t) {
			return n, &ValidationError{"scopes.tables", fmt.Sprintf("%q is not schema.table or schema.*", t)}
		}
	}
	if len(n.Scopes.Tables) > 0 {
		for _, s := range n.Scopes.Services {
			if slices.Contains(security.TableBlindServices, s) {
				return n, &ValidationError{"scopes.services", fmt.Sprintf("%s reaches every table: a key limited to tables may not name it", s)}
			}
		}
	}
	n.Scopes.Services = sortedSet(n.Scopes.Services)
	n.Scopes.Tables = sortedSet(n.Scopes.Tables)
	if n.Limit != nil && !n.Limit.Covers(n.Scopes) {
		return n, ErrTooWide
	}
	return n, nil
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// Create makes a key and writes its audit entry through tx: api_key.create, a warning for a
// secret key (it bypasses row-level security), info for a publishable one.
func Create(ctx context.Context, tx pgx.Tx, n NewKey, by audit.Actor, client audit.Client) (Created, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	n, err := n.validate(now)
	if err != nil {
		return Created{}, err
	}
	secret, err := security.GenerateAPIKey(n.Kind)
	if err != nil {
		return Created{}, err
	}
	hash := security.HashAPIKey(secret)
	k := Key{
		ID: uuid.NewString(), Name: n.Name, Kind: n.Kind, Prefix: security.APIKeyShownPrefix(secret),
		Scopes: n.Scopes, CreatedAt: now, CreatedBy: actorOf(by), ExpiresAt: n.ExpiresAt,
	}
	// A savepoint, so that a taken name is an answer and not a failed transaction.
	err = pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		_, err := sp.Exec(ctx, `INSERT INTO goforward.api_keys (id, name, kind, prefix, key_hash, scopes, created_at, created_by, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, k.ID, k.Name, k.Kind, k.Prefix, hash[:], k.Scopes, k.CreatedAt, k.CreatedBy, k.ExpiresAt)
		return err
	})
	if err != nil {
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23505" && pgErr.ConstraintName == "api_keys_live_name_idx" {
			return Created{}, ErrNameTaken
		}
		return Created{}, fmt.Errorf("apikeys: create: %w", err)
	}
	e := audit.Entry{
		Actor: by, Action: "api_key.create", ResourceType: "api_key", ResourceID: k.ID,
		Severity: audit.Info, Client: client,
		Details: map[string]any{"name": k.Name, "kind": k.Kind, "prefix": k.Prefix, "scopes": k.Scopes, "expires_at": k.ExpiresAt},
	}
	if k.Kind == security.KindSecret {
		e.Severity = audit.Warning
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return Created{}, err
	}
	return Created{Key: k, APIKey: secret}, nil
}

const keyColumns = `id, name, kind, prefix, scopes, created_at, created_by, expires_at, last_used_at, revoked_at, revoked_by`

func scanKey(row pgx.Row) (Key, error) {
	var (
		k         Key
		revokedBy []byte
	)
	err := row.Scan(&k.ID, &k.Name, &k.Kind, &k.Prefix, &k.Scopes, &k.CreatedAt, &k.CreatedBy, &k.ExpiresAt,
		&k.LastUsedAt, &k.RevokedAt, &revokedBy)
	if err != nil {
		return Key{}, err
	}
	if len(revokedBy) > 0 && string(revokedBy) != "null" {
		k.RevokedBy = &Actor{}
		if err := json.Unmarshal(revokedBy, k.RevokedBy); err != nil {
			return Key{}, fmt.Errorf("apikeys: revoked_by: %w", err)
		}
	}
	return k, nil
}

// List returns the keys, newest first; revoked ones only with includeRevoked.
func List(ctx context.Context, q Querier, includeRevoked bool) ([]Key, error) {
	rows, err := q.Query(ctx, `SELECT `+keyColumns+` FROM goforward.api_keys
WHERE $1 OR revoked_at IS NULL ORDER BY created_at DESC, id`, includeRevoked)
	if err != nil {
		return nil, fmt.Errorf("apikeys: list: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Key, error) { return scanKey(r) })
	if err != nil {
		return nil, fmt.Errorf("apikeys: list: %w", err)
	}
	return keys, nil
}

// Get returns the key with id, revoked or not.
func Get(ctx context.Context, q Querier, id string) (Key, error) {
	if uuid.Validate(id) != nil {
		return Key{}, ErrNotFound
	}
	k, err := scanKey(q.QueryRow(ctx, `SELECT `+keyColumns+` FROM goforward.api_keys WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, ErrNotFound
	}
	if err != nil {
		return Key{}, fmt.Errorf("apikeys: get: %w", err)
	}
	return k, nil
}

// Find returns the key a person names: its id, the name of a live key, or its shown prefix
// when exactly one live key has it.
func Find(ctx context.Context, q Querier, ref string) (Key, error) {
	if uuid.Validate(ref) == nil {
		return Get(ctx, q, ref)
	}
	rows, err := q.Query(ctx, `SELECT `+keyColumns+` FROM goforward.api_keys
WHERE revoked_at IS NULL AND (name = $1 OR prefix = $1) ORDER BY name = $1 DESC LIMIT 2`, ref)
	if err != nil {
		return Key{}, fmt.Errorf("apikeys: find: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Key, error) { return scanKey(r) })
	switch {
	case err != nil:
		return Key{}, fmt.Errorf("apikeys: find: %w", err)
	case len(keys) == 0:
		return Key{}, ErrNotFound
	case len(keys) == 2 && keys[0].Name != ref:
		return Key{}, fmt.Errorf("apikeys: %d live keys start with %s: name the key by its id or name", len(keys), ref)
	}
	return keys[0], nil
}

// Revoke ends the key with id at once on every node (the Verifiers reload on the change) and
// writes api_key.revoke (a warning) through tx. Revoking a revoked key changes nothing and
// returns it as it is.
func Revoke(ctx context.Context, tx pgx.Tx, id string, by audit.Actor, client audit.Client) (Key, error) {
	k, err := Get(ctx, tx, id)
	if err != nil {
		return Key{}, err
	}
	if k.RevokedAt != nil {
		return k, nil
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	actor := actorOf(by)
	if _, err := tx.Exec(ctx, `UPDATE goforward.api_keys SET revoked_at = $2, revoked_by = $3 WHERE id = $1`, id, now, actor); err != nil {
		return Key{}, fmt.Errorf("apikeys: revoke: %w", err)
	}
	k.RevokedAt, k.RevokedBy = &now, &actor
	e := audit.Entry{
		Actor: by, Action: "api_key.revoke", ResourceType: "api_key", ResourceID: k.ID,
		Severity: audit.Warning, Client: client,
		Details: map[string]any{"name": k.Name, "kind": k.Kind, "prefix": k.Prefix},
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return Key{}, err
	}
	return k, nil
}
