package httpx

import (
	"context"
	"log/slog"
	"net/netip"
)

type requestIDKey struct{}

type clientIPKey struct{}

type loggerKey struct{}

// WithRequestID returns a context carrying the request id the gateway assigned.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored by WithRequestID, or "" outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithClientIP returns a context carrying the client address the gateway resolved (the peer,
// or the rightmost untrusted X-Forwarded-For hop behind a trusted proxy).
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP returns the address stored by WithClientIP; the zero Addr (IsValid false) when
// there is none.
func ClientIP(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(clientIPKey{}).(netip.Addr)
	return ip
}

// WithLogger returns a context carrying the logger that request-scoped code (Handle, service
// handlers) should use, so the gateway's injected logger reaches them without globals.
func WithLogger(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, logger)
}

// Logger returns the logger stored by WithLogger, or slog.Default() when there is none.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}
