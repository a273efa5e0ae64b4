package httpx

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseUnavailable reports whether err means the database could not be reached or went away
// under the statement (the server restarting, shutting down, still recovering, a broken
// connection), as opposed to the statement itself failing. Services answer those with 503:
// the request did nothing wrong and may be retried once the server is back. A context that
// ended is the caller's doing, not the database's, and does not count. It lives here, not in
// internal/db, because Handle needs it and internal/db uses this package's request context.
func DatabaseUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", // admin_shutdown: the server is stopping, this session was ended
			"57P02", // crash_shutdown: another backend crashed, every session is ended
			"57P03": // cannot_connect_now: starting up, in recovery or shutting down
			return true
		}
		// Class 08, connection exception; anything else is the statement's own failure.
		return len(pgErr.Code) == 5 && pgErr.Code[:2] == "08"
	}
	// A net.OpError, not any net.Error: syscall.Errno satisfies net.Error too, and a full
	// disk (ENOSPC) is no database outage.
	var connectErr *pgconn.ConnectError
	var opErr *net.OpError
	return errors.As(err, &connectErr) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &opErr) ||
		pgconn.SafeToRetry(err)
}
