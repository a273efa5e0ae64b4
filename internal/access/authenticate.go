package access

import (
	"errors"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/security"
)

// CookieName is the dashboard's session cookie: HttpOnly, SameSite=Strict, Path=/.
const CookieName = "goforward_admin_session"

// CSRFHeader carries a cookie session's CSRF token on every request that may change
// something. Bearer sessions need none: a browser never attaches a Bearer token by itself.
const CSRFHeader = "X-CSRF-Token"

// Errors of Authenticate. Each service renders them in its own wire shape.
var (
	// ErrNoCredentials: the request carries no admin session and no service-role or secret key.
	ErrNoCredentials = errors.New("access: an admin session or the service-role key is required")
	// ErrNotPrivileged: a valid JWT that is not the service-role key (the anon key, a user's
	// access token). Users reach admin routes only through an admin session.
	ErrNotPrivileged = errors.New("access: this token does not grant admin access; sign in as an admin")
	// ErrCSRF: a cookie session's unsafe request without its CSRF token.
	ErrCSRF = errors.New("access: the X-CSRF-Token header is missing or wrong")
)

// Authenticator finds the principal behind an admin request.
type Authenticator struct {
	Pool     *pgxpool.Pool // the owner's pool, which reads goforward.admin_sessions
	Sessions *Sessions
	Keys     *security.Keys
}

// Authenticate returns who is asking: an admin session (Bearer token or the dashboard's
// cookie, whose unsafe requests must carry the CSRF token) or the service-role key (Bearer
// or apikey). It fails with ErrNoCredentials, ErrSessionInvalid, ErrNotPrivileged or ErrCSRF,
// or a database error.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	if token, ok := bearer(r); ok {
		if strings.HasPrefix(token, TokenPrefix) {
			return a.session(r, token, false)
		}
		return a.serviceRole(r, token)
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		return a.session(r, c.Value, true)
	}
	if key := r.Header.Get("apikey"); key != "" {
		return a.serviceRole(r, key)
	}
	return Principal{}, ErrNoCredentials
}

// serviceRole admits the service-role key, or a secret API key (gf_sec_…) as the service role
// limited to the key's scope. Opaque keys were resolved by the gateway, from memory: the
// principal it attached is used when it stands for this very token.
func (a *Authenticator) serviceRole(r *http.Request, token string) (Principal, error) {
	if security.IsAPIKey(token) {
		p, ok := security.PrincipalFrom(r.Context())
		if !ok || p.Key == nil || p.Role != security.RoleServiceRole || !security.SameToken(p.Token, token) {
			return Principal{}, ErrNotPrivileged
		}
		sp := ServiceRole()
		grant := *p.Key
		sp.APIKey = &grant
		return sp, nil
	}
	p, err := a.Keys.Verify(token)
	if err != nil || p.Role != security.RoleServiceRole {
		return Principal{}, ErrNotPrivileged
	}
	return ServiceRole(), nil
}

func (a *Authenticator) session(r *http.Request, token string, viaCookie bool) (Principal, error) {
	sess, err := a.Sessions.Authenticate(r.Context(), a.Pool, token)
	if err != nil {
		return Principal{}, err
	}
	if viaCookie && !safeMethod(r.Method) && !csrfMatches(token, r.Header.Get(CSRFHeader)) {
		return Principal{}, ErrCSRF
	}
	p := Principal{
		Kind: sess.Kind, UserID: sess.UserID, Email: sess.Email, Level: sess.Level,
		Capabilities: sess.Capabilities, Session: &sess, ViaCookie: viaCookie,
	}
	if viaCookie {
		p.csrf = CSRFToken(token)
	}
	return p, nil
}

// SetCookie puts a session's token in the dashboard's cookie. secure is set when the public
// URL is https; the cookie lives as long as the session may.
func SetCookie(w http.ResponseWriter, o Opened, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: o.Token, Path: "/", Expires: o.ExpiresAt,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	})
}

// ClearCookie removes the dashboard's cookie.
func ClearCookie(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
