package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// EndTimeout bounds the COMMIT or ROLLBACK that ends a request's transaction after the
// request's own context has ended.
const EndTimeout = 10 * time.Second

// InTx runs fn in a transaction begun on db (a pool, connection or transaction), committing
// when fn returns nil and rolling back otherwise (a panic included). Unlike pgx.BeginFunc it
// ends the transaction even when ctx has ended (a client that went away), bounded by
// EndTimeout: pgx closes a connection whose ROLLBACK fails, and its pool would then have to
// open a new one. An error after ctx ended satisfies errors.Is(err, ctx.Err()).
func InTx(ctx context.Context, db interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}, fn func(pgx.Tx) error) (err error) {
	defer func() { err = withContextCause(ctx, err) }()
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	ended := false
	defer func() {
		if !ended {
			endCtx, cancel := endContext(ctx)
			_ = tx.Rollback(endCtx)
			cancel()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	ended = true
	endCtx, cancel := endContext(ctx)
	defer cancel()
	return tx.Commit(endCtx)
}

// endContext is ctx without its cancellation or deadline, bounded by EndTimeout.
func endContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), EndTimeout)
}

// withContextCause makes err report that ctx ended, when it has: a statement cancelled
// because the client went away fails with SQLSTATE 57014 (or a pgx error) that would
// otherwise read as a server fault. errors.Is(err, context.Canceled) then tells a client that
// left (HTTP 499) from a failure; errors.As still finds the PostgreSQL error.
func withContextCause(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil || errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w: %w", ctx.Err(), err)
}
