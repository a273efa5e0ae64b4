package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/db"
)

// querier is what the store functions need: a pool, a connection or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// errNotFound is returned by lookups that found no row.
var errNotFound = errors.New("auth: not found")

// storeError turns pgx.ErrNoRows into errNotFound and wraps other errors with what.
func storeError(what string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotFound
	}
	return fmt.Errorf("%s: %w", what, err)
}

// runBatch sends b in one round trip and reads every result; PostgreSQL runs a batch in one
// implicit transaction, so either all of it applies or none.
func runBatch(ctx context.Context, q querier, b *pgx.Batch) error {
	return q.SendBatch(ctx, b).Close()
}

// inTx runs fn in a transaction on q, committing when fn returns nil (db.InTx: the
// transaction is ended even when the client went away, so the connection stays pooled).
func inTx(ctx context.Context, q interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}, fn func(tx pgx.Tx) error) error {
	return db.InTx(ctx, q, fn)
}

// newID returns a random (version 4) UUID.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: the runtime aborts rather than return an error
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sha256Hex is how refresh tokens, auth codes and lockout subjects are stored.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sha224Hex is GoTrue's token hash: hex(SHA-224(address + code)).
func sha224Hex(s string) string {
	sum := sha256.Sum224([]byte(s))
	return hex.EncodeToString(sum[:])
}

// isUniqueViolation reports whether err is a unique constraint failure on constraint (any
// constraint when it is "").
func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}
