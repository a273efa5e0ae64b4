// Package signingkeys keeps the asymmetric JWT signing keys (ES256, RS256) in
// goforward.signing_keys: it generates them, rotates them (standby → current → previous),
// revokes previous ones, and loads the ring every node verifies and signs with
// (security.KeyRing), reloading it on every node when it changes (Watcher).
package signingkeys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/security"
)

// DefaultAlgorithm is what a new data directory signs user tokens with, as new Supabase
// projects do.
const DefaultAlgorithm = security.AlgES256

// rsaBits is the size of generated RSA keys (Supabase's RS256 keys are 2048 bits).
const rsaBits = 2048

// lockKey serialises changes to the ring across nodes and commands (pg_advisory_xact_lock).
const lockKey = 0x676673696b657973 // "gfsikeys"

// ErrUnknownAlgorithm is returned for an algorithm other than ES256 and RS256.
var ErrUnknownAlgorithm = errors.New("signing key algorithm must be ES256 or RS256")

// Querier is what reads go through: a pool, a connection or a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Key is a signing key as listed: never its private part.
type Key struct {
	ID          string          `json:"id"`
	Algorithm   string          `json:"algorithm"`
	Status      string          `json:"status"`
	PublicJWK   json.RawMessage `json:"public_jwk"`
	CreatedAt   time.Time       `json:"created_at"`
	ActivatedAt *time.Time      `json:"activated_at,omitempty"`
	RetiredAt   *time.Time      `json:"retired_at,omitempty"`
	RevokedAt   *time.Time      `json:"revoked_at,omitempty"`
}

// Rotation is what Rotate did.
type Rotation struct {
	Current  Key   `json:"current"`
	Standby  Key   `json:"standby"`
	Previous []Key `json:"previous"`
}

// generated is a new key: what the ring needs, and what the table stores.
type generated struct {
	key       security.SigningKey
	der       []byte
	publicJWK json.RawMessage
}

func generate(alg string) (generated, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case security.AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case security.AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return generated{}, ErrUnknownAlgorithm
	}
	if err != nil {
		return generated{}, fmt.Errorf("signingkeys: generate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return generated{}, fmt.Errorf("signingkeys: encode: %w", err)
	}
	k := security.SigningKey{ID: uuid.NewString(), Algorithm: alg, Status: security.KeyStandby, Public: priv.Public(), Private: priv}
	jwk, err := publicJWK(k)
	if err != nil {
		return generated{}, err
	}
	return generated{key: k, der: der, publicJWK: jwk}, nil
}

// publicJWK renders k's public key as the JWKS publishes it.
func publicJWK(k security.SigningKey) (json.RawMessage, error) {
	ring, err := security.NewKeyRing([]security.SigningKey{{ID: k.ID, Algorithm: k.Algorithm, Status: security.KeyStandby, Public: k.Public}})
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(ring.JWKS(), &set); err != nil || len(set.Keys) != 1 {
		return nil, errors.New("signingkeys: render the public key")
	}
	return set.Keys[0], nil
}

// insert stores g with status through tx.
func insert(ctx context.Context, tx pgx.Tx, b *box, g generated, status string, by audit.Actor, now time.Time) (Key, error) {
	var activated *time.Time
	if status == security.KeyCurrent {
		activated = &now
	}
	creator, err := json.Marshal(map[string]string{"type": by.Type, "id": by.ID, "email": by.Email})
	if err != nil {
		return Key{}, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO goforward.signing_keys (id, algorithm, status, public_jwk, private_key, created_at, created_by, activated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, g.key.ID, g.key.Algorithm, status, g.publicJWK, b.seal(g.der, g.key.ID), now, creator, activated)
	if err != nil {
		return Key{}, fmt.Errorf("signingkeys: store: %w", err)
	}
	return Key{ID: g.key.ID, Algorithm: g.key.Algorithm, Status: status, PublicJWK: g.publicJWK, CreatedAt: now, ActivatedAt: activated}, nil
}

func lock(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockKey)); err != nil {
		return fmt.Errorf("signingkeys: lock: %w", err)
	}
	return nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Seed gives a database that has never had a signing key a current and a standby key of
// alg, and reports whether it did. A database that has had keys (even all revoked) is left
// alone: what signs there is the operator's choice.
func Seed(ctx context.Context, tx pgx.Tx, keys *security.Keys, alg string) (bool, error) {
	if err := lock(ctx, tx); err != nil {
		return false, err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM goforward.signing_keys)`).Scan(&exists); err != nil {
		return false, fmt.Errorf("signingkeys: seed: %w", err)
	}
	if exists {
		return false, nil
	}
	b, err := newBox(keys)
	if err != nil {
		return false, err
	}
	at := now()
	system := audit.Actor{Type: audit.ActorSystem}
	for _, status := range []string{security.KeyCurrent, security.KeyStandby} {
		g, err := generate(alg)
		if err != nil {
			return false, err
		}
		if _, err := insert(ctx, tx, b, g, status, system, at); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Rotate moves the ring on by one step through tx: the current key becomes previous (its
// tokens stay valid until they expire), the standby key becomes current (a new key of alg
// when there is none, e.g. the first rotation away from HS256), and a new standby key of alg
// is made. An empty alg keeps the algorithm of the key that becomes current (ES256 when it
// is new). It writes the audit entry signing_key.rotate.
func Rotate(ctx context.Context, tx pgx.Tx, keys *security.Keys, alg string, by audit.Actor, client audit.Client) (Rotation, error) {
	if alg != "" && alg != security.AlgES256 && alg != security.AlgRS256 {
		return Rotation{}, ErrUnknownAlgorithm
	}
	if err := lock(ctx, tx); err != nil {
		return Rotation{}, err
	}
	b, err := newBox(keys)
	if err != nil {
		return Rotation{}, err
	}
	at := now()
	var out Rotation
	rows, err := tx.Query(ctx, `UPDATE goforward.signing_keys SET status = 'previous', retired_at = $1 WHERE status = 'current'
RETURNING `+keyColumns, at)
	if err != nil {
		return Rotation{}, fmt.Errorf("signingkeys: rotate: %w", err)
	}
	if out.Previous, err = pgx.CollectRows(rows, scanKey); err != nil {
		return Rotation{}, fmt.Errorf("signingkeys: rotate: %w", err)
	}
	out.Current, err = scanOne(tx.QueryRow(ctx, `UPDATE goforward.signing_keys SET status = 'current', activated_at = $1 WHERE status = 'standby'
RETURNING `+keyColumns, at))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		g, err := generate(cmp(alg, DefaultAlgorithm))
		if err != nil {
			return Rotation{}, err
		}
		if out.Current, err = insert(ctx, tx, b, g, security.KeyCurrent, by, at); err != nil {
			return Rotation{}, err
		}
	case err != nil:
		return Rotation{}, fmt.Errorf("signingkeys: rotate: %w", err)
	}
	g, err := generate(cmp(alg, out.Current.Algorithm))
	if err != nil {
		return Rotation{}, err
	}
	if out.Standby, err = insert(ctx, tx, b, g, security.KeyStandby, by, at); err != nil {
		return Rotation{}, err
	}
	previous := make([]string, 0, len(out.Previous))
	for _, k := range out.Previous {
		previous = append(previous, k.ID)
	}
	if out.Previous == nil {
		out.Previous = []Key{}
	}
	e := audit.Entry{
		Actor: by, Action: "signing_key.rotate", ResourceType: "signing_key", ResourceID: out.Current.ID,
		Severity: audit.Warning, Client: client,
		Details: map[string]any{"current": out.Current.ID, "algorithm": out.Current.Algorithm, "standby": out.Standby.ID, "previous": previous},
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return Rotation{}, err
	}
	return out, nil
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// RevokePrevious revokes every previous key through tx and returns them: tokens they signed
// are refused on every node from the next reload (at once with NOTIFY), the way to end
// sessions signed by a leaked key. It writes the audit entry signing_key.revoke.
func RevokePrevious(ctx context.Context, tx pgx.Tx, by audit.Actor, client audit.Client) ([]Key, error) {
	if err := lock(ctx, tx); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `UPDATE goforward.signing_keys SET status = 'revoked', revoked_at = $1 WHERE status = 'previous'
RETURNING `+keyColumns, now())
	if err != nil {
		return nil, fmt.Errorf("signingkeys: revoke: %w", err)
	}
	revoked, err := pgx.CollectRows(rows, scanKey)
	if err != nil {
		return nil, fmt.Errorf("signingkeys: revoke: %w", err)
	}
	ids := make([]string, 0, len(revoked))
	for _, k := range revoked {
		ids = append(ids, k.ID)
	}
	e := audit.Entry{
		Actor: by, Action: "signing_key.revoke", ResourceType: "signing_key",
		Severity: audit.Warning, Client: client, Details: map[string]any{"revoked": ids},
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return nil, err
	}
	if revoked == nil {
		revoked = []Key{}
	}
	return revoked, nil
}

const keyColumns = `id::text, algorithm, status, public_jwk, created_at, activated_at, retired_at, revoked_at`

func scanKey(row pgx.CollectableRow) (Key, error) { return scanOne(row) }

func scanOne(row pgx.Row) (Key, error) {
	var k Key
	err := row.Scan(&k.ID, &k.Algorithm, &k.Status, &k.PublicJWK, &k.CreatedAt, &k.ActivatedAt, &k.RetiredAt, &k.RevokedAt)
	return k, err
}

// List returns the keys, current first then standby, previous and (with includeRevoked)
// revoked, newest first within each.
func List(ctx context.Context, q Querier, includeRevoked bool) ([]Key, error) {
	rows, err := q.Query(ctx, `SELECT `+keyColumns+` FROM goforward.signing_keys
WHERE $1 OR status <> 'revoked'
ORDER BY array_position(ARRAY['current', 'standby', 'previous', 'revoked'], status), created_at DESC`, includeRevoked)
	if err != nil {
		return nil, fmt.Errorf("signingkeys: list: %w", err)
	}
	keys, err := pgx.CollectRows(rows, scanKey)
	if err != nil {
		return nil, fmt.Errorf("signingkeys: list: %w", err)
	}
	if keys == nil {
		keys = []Key{}
	}
	return keys, nil
}

// Load reads every key that is not revoked, opens the private keys, and builds the ring.
func Load(ctx context.Context, q Querier, keys *security.Keys) (*security.KeyRing, error) {
	b, err := newBox(keys)
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT id::text, algorithm, status, private_key FROM goforward.signing_keys WHERE status <> 'revoked'`)
	if err != nil {
		return nil, fmt.Errorf("signingkeys: load: %w", err)
	}
	var (
		ring                  []security.SigningKey
		id, alg, status, priv string
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &alg, &status, &priv}, func() error {
		k, _, err := b.openKey(id, alg, status, priv)
		if err != nil {
			return err
		}
		ring = append(ring, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("signingkeys: load: %w", err)
	}
	return security.NewKeyRing(ring)
}

// openKey opens and parses one stored key.
func (b *box) openKey(id, alg, status, sealed string) (security.SigningKey, bool, error) {
	der, current, err := b.open(sealed, id)
	if err != nil {
		return security.SigningKey{}, false, err
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return security.SigningKey{}, false, fmt.Errorf("signingkeys: parse the private key of %s: %w", id, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return security.SigningKey{}, false, fmt.Errorf("signingkeys: key %s is not a signing key", id)
	}
	return security.SigningKey{ID: id, Algorithm: alg, Status: status, Public: signer.Public(), Private: signer}, current, nil
}

// Reseal re-seals through tx every private key that only the previous JWT secret's key opens
// (keys must know it) with the current one, and returns how many it moved. Run it after the
// JWT secret's rotation, as auth.ReencryptMFASecrets; revoked keys are left as they are.
func Reseal(ctx context.Context, tx pgx.Tx, keys *security.Keys) (int, error) {
	if !keys.HasPreviousSecret() {
		return 0, nil
	}
	b, err := newBox(keys)
	if err != nil {
		return 0, err
	}
	rows, err := tx.Query(ctx, `SELECT id::text, private_key FROM goforward.signing_keys WHERE status <> 'revoked' ORDER BY id FOR UPDATE`)
	if err != nil {
		return 0, fmt.Errorf("signingkeys: reseal: %w", err)
	}
	type stored struct{ id, sealed string }
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stored, error) {
		var s stored
		return s, r.Scan(&s.id, &s.sealed)
	})
	if err != nil {
		return 0, fmt.Errorf("signingkeys: reseal: %w", err)
	}
	n := 0
	for _, s := range all {
		der, current, err := b.open(s.sealed, s.id)
		if err != nil {
			return n, err
		}
		if current {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE goforward.signing_keys SET private_key = $2 WHERE id = $1`, s.id, b.seal(der, s.id)); err != nil {
			return n, fmt.Errorf("signingkeys: reseal: %w", err)
		}
		n++
	}
	return n, nil
}
