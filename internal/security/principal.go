package security

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
)

// Principal is the verified identity behind a request: the database role to assume, the
// subject (user id; empty for the anon and service-role keys) and the verified JWT payload,
// verbatim, for request.jwt.claims. Token is the raw JWT (or opaque API key); it must never
// be logged, and Principal's LogValue leaves it (and the claims) out.
type Principal struct {
	Role    string
	Subject string
	Claims  json.RawMessage
	Token   string
	// Key is the opaque API key (gf_pub_…, gf_sec_…) the request came with, nil for the JWT
	// keys. It stays set when a user's access token decides the role, so that the key's
	// scope limits the whole request.
	Key *APIKeyGrant
}

// LogValue keeps the token and the claims (which carry e-mail addresses and metadata) out of
// logs when a Principal is logged.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(slog.String("role", p.Role), slog.String("sub", p.Subject))
}

// SameToken compares two tokens in constant time, so the comparison leaks nothing about the
// secret one through timing.
func SameToken(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

type principalKey struct{}

type authErrorKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored by WithPrincipal and whether there was one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// WithAuthError returns a context recording that the request carried a Bearer token that
// failed verification. The gateway still lets the request through with the apikey's
// principal; each service renders the failure in its own shape (PostgREST 401 PGRST301,
// GoTrue 403 bad_jwt).
func WithAuthError(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, authErrorKey{}, err)
}

// AuthErrorFrom returns the error stored by WithAuthError, or nil.
func AuthErrorFrom(ctx context.Context) error {
	err, _ := ctx.Value(authErrorKey{}).(error)
	return err
}
