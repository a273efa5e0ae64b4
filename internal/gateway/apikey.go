package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// requireAPIKey is Kong's key-auth for Supabase: every request outside the open routes must
// carry an apikey (header or ?apikey=) that is a valid anon or service_role key, or a live
// opaque API key (gf_pub_… acts as anon, gf_sec_… as service_role). It also works out the
// principal: the Bearer token's when it verifies, else the apikey's. A Bearer token that fails
// verification does not stop the request here; it is recorded with security.WithAuthError
// for the service to reject in its own words. On open routes keys are still read, but a bad
// one is ignored rather than refused.
//
// An opaque key is held to its scope here, on every route: a service its scope does not
// name answers 403, as Kong's ACL plugin does. A secret key sent from a browser is refused
// (401), as Supabase refuses it: it would bypass row-level security for anyone who opens
// the page.
func (g *Gateway) requireAPIKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ex := exchangeFrom(ctx)

		key := r.Header.Get("apikey")
		if key == "" {
			key = r.URL.Query().Get("apikey")
		}
		var (
			principal    security.Principal
			hasPrincipal bool
		)
		switch p, err := g.apiKeyPrincipal(ctx, key); {
		case err == nil:
			principal, hasPrincipal = p, true
		case ex.open:
		case key == "":
			g.writeMessage(w, r, http.StatusUnauthorized, msgNoAPIKey)
			return
		default:
			g.logger.DebugContext(ctx, "apikey rejected", "request_id", httpx.RequestID(ctx), "error", err)
			g.writeMessage(w, r, http.StatusUnauthorized, msgInvalidAPIKey)
			return
		}
		keyGrant := principal.Key

		if bearer := bearerToken(r); bearer != "" && !(hasPrincipal && security.SameToken(bearer, key)) {
			if p, err := g.verify(ctx, bearer); err == nil {
				if p.Key == nil {
					// A user's token under an opaque key: the key's scope still bounds it.
					p.Key = keyGrant
				}
				principal, hasPrincipal = p, true
			} else {
				ctx = security.WithAuthError(ctx, err)
			}
		}
		for _, grant := range []*security.APIKeyGrant{keyGrant, principal.Key} {
			if grant == nil {
				continue
			}
			if grant.Kind == security.KindSecret && fromBrowser(r) {
				g.writeMessage(w, r, http.StatusUnauthorized, msgSecretKeyInBrowser)
				return
			}
			if scoped(ex) && !grant.Scope.AllowsService(ex.service) {
				g.writeMessage(w, r, http.StatusForbidden, msgServiceNotAllowed)
				return
			}
		}
		if hasPrincipal {
			ctx = security.WithPrincipal(ctx, principal)
			ex.role = principal.Role
			if principal.Key != nil {
				ex.apiKeyID = principal.Key.ID
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// scoped reports whether a key's service scope applies to the request: the gateway's own
// routes (/health, /ready; /metrics checks its own scope) and paths no service owns are
// nobody's to deny.
func scoped(ex *exchange) bool { return !ex.internal && ex.service != gatewayService }

// fromBrowser tells a browser by its User-Agent, as Supabase does for secret keys: every
// browser's starts with "Mozilla/", server runtimes' (Node, Deno, Go, curl) do not.
func fromBrowser(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("User-Agent"), "Mozilla/")
}

// verify checks a token presented as apikey or Bearer: an opaque API key through
// Deps.APIKeys, anything else as a JWT.
func (g *Gateway) verify(ctx context.Context, token string) (security.Principal, error) {
	if security.IsAPIKey(token) {
		if g.apiKeys == nil {
			return security.Principal{}, errors.New("opaque api keys are not enabled")
		}
		return g.apiKeys.Resolve(ctx, token)
	}
	return g.keys.Verify(token)
}

func (g *Gateway) apiKeyPrincipal(ctx context.Context, key string) (security.Principal, error) {
	if key == "" {
		return security.Principal{}, errors.New("no apikey")
	}
	p, err := g.verify(ctx, key)
	if err != nil {
		return security.Principal{}, err
	}
	if p.Role != security.RoleAnon && p.Role != security.RoleServiceRole {
		return security.Principal{}, fmt.Errorf("apikey role %q is neither anon nor service_role", p.Role)
	}
	return p, nil
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header, or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
