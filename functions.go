package goforward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/goforward/goforward/internal/cli"
	"github.com/goforward/goforward/internal/security"
)

// The database roles a Principal can have.
const (
	RoleAnon          = "anon"
	RoleAuthenticated = "authenticated"
	RoleServiceRole   = "service_role"
)

// Principal is the verified caller of a request: the role its apikey or Bearer token grants
// (RoleAnon, RoleAuthenticated, RoleServiceRole, or a custom role a token names), the user's
// id for a signed-in user (empty for the anon and service-role keys) and the token's claims.
type Principal struct {
	Role   string
	UserID string
	Claims map[string]any
}

// PrincipalFrom returns the verified caller of the request whose context ctx is, and false
// when the request carried no valid key or token. Function endpoints always have one; routes
// added with Handle have one when the caller sent a valid apikey or Bearer token.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := security.PrincipalFrom(ctx)
	if !ok {
		return Principal{}, false
	}
	return toPrincipal(p), true
}

func toPrincipal(p security.Principal) Principal {
	out := Principal{Role: p.Role, UserID: p.Subject}
	if len(p.Claims) > 0 {
		// The claims were verified from this very JSON, so they decode.
		_ = json.Unmarshal(p.Claims, &out.Claims)
	}
	return out
}

// VerifyToken checks a JWT (an access token, the anon or the service-role key) as the
// gateway checks apikeys and Bearer tokens: the signature with this server's secret, exp,
// nbf, iat, aud when jwt.audience is set, and a role claim. It is for tokens that arrive
// outside a request's Authorization header (a WebSocket message, a form field, a cookie of
// the application's); inside a request, PrincipalFrom already has the verified caller. It
// fails until serve has bootstrapped.
func (a *App) VerifyToken(token string) (Principal, error) {
	a.mu.Lock()
	keys := a.keys
	a.mu.Unlock()
	if keys == nil {
		return Principal{}, errors.New("goforward: VerifyToken: the server has not bootstrapped")
	}
	p, err := keys.Verify(token)
	if err != nil {
		return Principal{}, err
	}
	return toPrincipal(p), nil
}

// FunctionsPrefix is where function endpoints live, as Supabase Edge Functions do.
const FunctionsPrefix = "/functions/v1"

// reservedPrefixes are Go Forward's own paths, which Handle refuses.
var reservedPrefixes = []string{
	"/auth/v1", "/rest/v1", "/realtime/v1", "/storage/v1", "/admin/v1", "/pg", FunctionsPrefix,
	"/health", "/ready", "/metrics",
}

// Function serves h at /functions/v1/{name} and every path below it, where supabase-js's
// functions.invoke(name) sends its requests, when the functions service runs (it does by
// default). Requests pass the gateway as every API request does: an apikey (anon or
// service_role) is required, CORS, rate and body limits apply, and each is logged; a Bearer
// token that fails verification gets 401 {"code":401,"message":"Invalid JWT"} before h runs.
// PrincipalFrom(r.Context()) is the caller. The request's path is left whole.
//
// Names are Supabase's function slugs: a letter, then letters, digits, '-' and '_'.
func (a *App) Function(name string, h http.Handler) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case h == nil:
		return fmt.Errorf("goforward: function %q: nil handler", name)
	case !cli.ValidFunctionName(name):
		return fmt.Errorf("goforward: function name %q must be a letter followed by letters, digits, '-' and '_' (at most 128)", name)
	case a.functions[name]:
		return fmt.Errorf("goforward: function %q is already registered", name)
	}
	a.functions[name] = true
	a.emb.Functions = append(a.emb.Functions, cli.Function{Name: name, Handler: h})
	return nil
}

// Handle serves h for a http.ServeMux pattern ("GET /hello/{name}", "/static/", "/") outside
// Go Forward's own paths: /auth/v1, /rest/v1, /realtime/v1, /storage/v1, /admin/v1, /pg,
// /functions/v1, /health, /ready and /metrics, and everything below them, are refused with
// an error. The routes pass the gateway's request ids, access log, panic recovery, metrics,
// CORS, rate and body limits, but need no apikey; PrincipalFrom reports a caller only when
// a valid key or token was sent. A catch-all pattern never receives Go Forward's paths.
func (a *App) Handle(pattern string, h http.Handler) error {
	if err := checkRoute(pattern, h); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.emb.Routes = append(a.emb.Routes, cli.Route{Pattern: pattern, Handler: guardReserved(h)})
	return nil
}

// Router adds routes while the server is being set up (ServeEvent.Router), with Handle's
// rules.
type Router struct {
	handle func(pattern string, h http.Handler) error
}

// Handle is App.Handle for a server about to listen.
func (r *Router) Handle(pattern string, h http.Handler) error {
	if err := checkRoute(pattern, h); err != nil {
		return err
	}
	return r.handle(pattern, guardReserved(h))
}

// HandleFunc is Handle for a handler function.
func (r *Router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) error {
	return r.Handle(pattern, http.HandlerFunc(h))
}

func checkRoute(pattern string, h http.Handler) error {
	if h == nil {
		return fmt.Errorf("goforward: route %q: nil handler", pattern)
	}
	p := patternPath(pattern)
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("goforward: route %q: the pattern needs an absolute path", pattern)
	}
	if prefix := reservedPrefix(path.Clean(p)); prefix != "" {
		return fmt.Errorf("goforward: route %q: %s is reserved for Go Forward's own services", pattern, prefix)
	}
	return nil
}

// reservedPrefix returns the reserved prefix p lies under, or "".
func reservedPrefix(p string) string {
	for _, prefix := range reservedPrefixes {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return prefix
		}
	}
	return ""
}

// errNoRoute is the gateway's own 404 wording.
var errNoRoute = errors.New("no Route matched with those values")

// guardReserved keeps a catch-all route from answering for a reserved path of a service this
// node does not run: such a path answers 404 as an unknown route.
func guardReserved(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reservedPrefix(path.Clean("/"+r.URL.Path)) != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": errNoRoute.Error()})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// patternPath strips the method and host from a ServeMux pattern: "GET host/a/{b}" → "/a/{b}".
func patternPath(pattern string) string {
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pattern = strings.TrimLeft(pattern[i:], " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}
