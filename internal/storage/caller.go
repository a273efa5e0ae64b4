package storage

import (
	"errors"
	"net/http"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/security"
)

// caller is who a request acts for. The gateway leaves /storage/v1 open and records the
// verified principal (the Bearer token's, else the apikey's) or the Bearer token's failure;
// the service decides from that, as Supabase Storage decides from the Authorization header.
type caller struct {
	principal     security.Principal
	authenticated bool // a token verified; false means anonymous
}

// requireCaller is for routes that need a token: a missing, invalid or expired one is
// refused as Supabase refuses it (HTTP 400, statusCode "403", AccessDenied, with the reason
// in jsonwebtoken's words, which clients show).
func requireCaller(r *http.Request) (caller, error) {
	ctx := r.Context()
	if err := security.AuthErrorFrom(ctx); err != nil {
		return caller{}, errAccessDenied(jwtMessage(err)).WithCause(err)
	}
	p, ok := security.PrincipalFrom(ctx)
	if !ok {
		return caller{}, errAccessDenied("jwt must be provided")
	}
	switch p.Role {
	case db.RoleAnon, db.RoleAuthenticated, db.RoleServiceRole:
	default:
		return caller{}, errAccessDenied("role " + p.Role + " is not allowed")
	}
	return caller{principal: p, authenticated: true}, nil
}

// optionalCaller is for reads Supabase serves to anyone when the bucket is public: without a
// usable token the caller is anonymous rather than refused.
func optionalCaller(r *http.Request) caller {
	c, err := requireCaller(r)
	if err != nil {
		return caller{principal: security.Principal{Role: db.RoleAnon}}
	}
	return c
}

func jwtMessage(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, security.ErrTokenExpired):
		return "jwt expired"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "jwt malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "invalid signature"
	default:
		return "invalid jwt"
	}
}

// scope is what PostgreSQL is told about the caller: its role and claims, so that
// auth.uid() and friends work in policies, and the request line.
func (c caller) scope(r *http.Request) db.RequestScope {
	role := c.principal.Role
	if role == "" {
		role = db.RoleAnon
	}
	return db.RequestScope{
		Role:    role,
		Claims:  c.principal.Claims,
		Method:  r.Method,
		Path:    r.URL.Path,
		Headers: r.Header,
	}
}

// serviceScope runs as service_role, which bypasses row-level security: for what Supabase
// does as its superuser (reading a bucket's limits, serving public and signed URLs).
func serviceScope(r *http.Request) db.RequestScope {
	return db.RequestScope{Role: db.RoleServiceRole, Method: r.Method, Path: r.URL.Path, Headers: r.Header}
}

// owner is who a new object belongs to: the token's subject, as owner_id (text) and, when
// it is a UUID, as the deprecated owner (uuid) column too.
type owner struct {
	id   string // "" for keys without a subject (anon, service_role)
	uuid pgtype.UUID
}

func (c caller) owner() owner {
	return ownerOf(c.principal.Subject)
}

func ownerOf(subject string) owner {
	o := owner{id: subject}
	if subject != "" {
		_ = o.uuid.Scan(subject) // not a UUID: the uuid column stays NULL
	}
	return o
}

// ownerID is owner_id as a nullable column.
func (o owner) ownerID() *string {
	if o.id == "" {
		return nil
	}
	return &o.id
}
