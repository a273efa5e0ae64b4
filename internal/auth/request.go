package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// maxUserAgent bounds the user agent stored with sessions and events.
const maxUserAgent = 512

// clientInfo is who made a request, as recorded with sessions and events.
type clientInfo struct {
	IP        netip.Addr
	UserAgent string
	RequestID string // the gateway's, carried into audit entries
}

func clientOf(r *http.Request) clientInfo {
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return clientInfo{IP: httpx.ClientIP(r.Context()), UserAgent: ua, RequestID: httpx.RequestID(r.Context())}
}

// ipArg is the IP as a query argument: NULL when unknown.
func (c clientInfo) ipArg() any {
	if !c.IP.IsValid() {
		return nil
	}
	return c.IP
}

// decodeBody reads the JSON body into v. Like GoTrue it does not insist on a content type,
// and unknown fields are ignored (clients spread option objects into bodies).
func decodeBody(r *http.Request, v any) error {
	return decodeJSONBody(r, v, false)
}

// decodeOptionalBody is decodeBody for endpoints whose body may be left out (an MFA
// challenge, DELETE /admin/users/{id}): an empty body leaves v as it is.
func decodeOptionalBody(r *http.Request, v any) error {
	return decodeJSONBody(r, v, true)
}

func decodeJSONBody(r *http.Request, v any, optional bool) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeJSONBytes(body, v, optional)
}

// readBody reads the whole request body; a body over the gateway's limit keeps its
// *http.MaxBytesError, which renders as 413.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			return nil, err
		}
		return nil, badRequest(CodeBadJSON, "Could not read request body").WithCause(err)
	}
	return body, nil
}

// decodeJSONBytes is decodeJSONBody for a body already read.
func decodeJSONBytes(body []byte, v any, optional bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return badRequest(CodeBadJSON, "Could not parse request body as JSON: the body is empty")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest(CodeBadJSON, "Could not parse request body as JSON: %v", err)
	}
	return nil
}

// session is a row of auth.sessions.
type session struct {
	ID          string
	AAL         string
	CreatedAt   time.Time
	RefreshedAt *time.Time
	NotAfter    *time.Time
}

// caller is the signed-in user a request acts for.
type caller struct {
	User    *user
	Session *session // nil for a token without session_id
	Claims  map[string]any
}

// requireUser authenticates the request's Bearer token as GoTrue does: no token is 401
// no_authorization, a token that does not verify or names no user is 403 bad_jwt, and a token
// whose session or user is gone is 403 session_not_found / user_not_found.
func (s *Service) requireUser(r *http.Request) (*caller, error) {
	ctx := r.Context()
	if !hasBearer(r) {
		return nil, apiError(http.StatusUnauthorized, CodeNoAuthorization, "This endpoint requires a valid Bearer token")
	}
	if err := security.AuthErrorFrom(ctx); err != nil {
		return nil, forbidden(CodeBadJWT, "invalid JWT: unable to parse or verify signature, %v", err)
	}
	p, ok := security.PrincipalFrom(ctx)
	if !ok {
		return nil, apiError(http.StatusUnauthorized, CodeNoAuthorization, "This endpoint requires a valid Bearer token")
	}
	var claims map[string]any
	if err := json.Unmarshal(p.Claims, &claims); err != nil {
		return nil, forbidden(CodeBadJWT, "invalid JWT: unable to parse claims")
	}
	if p.Subject == "" {
		return nil, forbidden(CodeBadJWT, "invalid claim: missing sub claim")
	}
	if !isUUID(p.Subject) {
		return nil, forbidden(CodeBadJWT, "invalid claim: sub claim must be a UUID")
	}
	sessionID, _ := claims["session_id"].(string)
	if sessionID != "" && !isUUID(sessionID) {
		return nil, forbidden(CodeBadJWT, "invalid claim: session_id claim must be a UUID")
	}

	var (
		sid, aal           *string
		created, refreshed *time.Time
		notAfter           *time.Time
	)
	row := s.pool.QueryRow(ctx, `SELECT `+userColumns+`, s.id, s.aal::text, s.created_at, s.refreshed_at, s.not_after
		FROM auth.users u LEFT JOIN auth.sessions s ON s.id = nullif($2, '')::uuid AND s.user_id = u.id
		WHERE u.id = $1`, p.Subject, sessionID)
	u, err := scanUser(row, &sid, &aal, &created, &refreshed, &notAfter)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, forbidden(CodeUserNotFound, "User from sub claim in JWT does not exist")
	case err != nil:
		return nil, internalError("Database error loading user", err)
	}
	c := &caller{User: u, Claims: claims}
	if sessionID != "" {
		if sid == nil || (notAfter != nil && s.now().After(*notAfter)) {
			return nil, forbidden(CodeSessionNotFound, "Session from session_id claim in JWT does not exist")
		}
		c.Session = &session{ID: *sid, AAL: deref(aal), CreatedAt: deref(created), RefreshedAt: refreshed, NotAfter: notAfter}
	}
	return c, nil
}

// roleSupabaseAdmin is the second role GoTrue's JWT_ADMIN_ROLES names by default, beside
// service_role.
const roleSupabaseAdmin = "supabase_admin"

// requireAdmin lets through only requests whose Bearer token carries an admin role
// (service_role or supabase_admin, GoTrue's JWT_ADMIN_ROLES): no token is 401
// no_authorization, one that does not verify 403 bad_jwt, any other role 403 not_admin. It
// returns the admin's principal.
func requireAdmin(r *http.Request) (security.Principal, error) {
	if !hasBearer(r) {
		return security.Principal{}, apiError(http.StatusUnauthorized, CodeNoAuthorization, "This endpoint requires a valid Bearer token")
	}
	if err := security.AuthErrorFrom(r.Context()); err != nil {
		return security.Principal{}, forbidden(CodeBadJWT, "invalid JWT: unable to parse or verify signature, %v", err)
	}
	p, ok := security.PrincipalFrom(r.Context())
	if !ok || (p.Role != security.RoleServiceRole && p.Role != roleSupabaseAdmin) {
		return security.Principal{}, forbidden(CodeNotAdmin, "User not allowed")
	}
	return p, nil
}

func hasBearer(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != ""
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// isUUID reports whether s is a UUID in its canonical textual form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// writeJSON writes a success body; it exists so handlers read as "return writeJSON(...)".
func writeJSON(w http.ResponseWriter, v any) error {
	return httpx.WriteJSON(w, http.StatusOK, v)
}
