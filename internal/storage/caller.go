package storage

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

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
// in the words of its JWT library, jose, which clients show and match).
func requireCaller(r *http.Request) (caller, error) {
	ctx := r.Context()
	if err := security.AuthErrorFrom(ctx); err != nil {
		return caller{}, errAccessDenied(jwtMessage(err, bearerToken(r))).WithCause(err)
	}
	p, ok := security.PrincipalFrom(ctx)
	if !ok {
		// No token at all: Supabase verifies the empty string, which is not a compact JWS.
		return caller{}, errAccessDenied(msgInvalidCompactJWS)
	}
	switch p.Role {
	case db.RoleAnon, db.RoleAuthenticated, db.RoleServiceRole:
	default:
		return caller{}, errAccessDenied("role " + p.Role + " is not allowed")
	}
	return caller{principal: p, authenticated: true}, nil
}

// bearerToken is the token of "Authorization: Bearer <token>", or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
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

// Messages of jose (the JWT library of Supabase Storage today) for the refusals clients meet.
const (
	msgInvalidCompactJWS  = "Invalid Compact JWS"
	msgInvalidHeader      = "JWS Protected Header is invalid"
	msgAlgNotAllowed      = `"alg" (Algorithm) Header Parameter value not allowed`
	msgSignatureInvalid   = "signature verification failed"
	msgExpired            = `"exp" claim timestamp check failed`
	msgNotYetValid        = `"nbf" claim timestamp check failed`
	msgNoMatchingKey      = "no applicable key found in the JSON Web Key Set"
	msgInvalidTokenOthers = "invalid jwt"
)

// jwtMessage words why token was refused as jose would: it checks the shape (three
// segments), then the header (JSON naming an allowed algorithm), then the signature, then
// the dates. Refusals jose has no check for (Go Forward requires exp and a role) keep a
// generic message.
func jwtMessage(err error, token string) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, security.ErrTokenExpired):
		return msgExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return msgNotYetValid
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return msgInvalidCompactJWS
	}
	var header struct {
		Alg any `json:"alg"`
	}
	raw, decodeErr := base64.RawURLEncoding.DecodeString(parts[0])
	if decodeErr != nil || json.Unmarshal(raw, &header) != nil {
		return msgInvalidHeader
	}
	if header.Alg != "HS256" && header.Alg != security.AlgES256 && header.Alg != security.AlgRS256 {
		return msgAlgNotAllowed
	}
	if errors.Is(err, security.ErrUnknownKeyID) {
		// jose's word when the JWKS has no key for the token's kid.
		return msgNoMatchingKey
	}
	if errors.Is(err, jwt.ErrTokenMalformed) || errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		// A payload or signature that does not decode fails jose's signature check.
		return msgSignatureInvalid
	}
	return msgInvalidTokenOthers
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
