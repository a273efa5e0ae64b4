package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// requireAPIKey is Kong's key-auth for Supabase: every request outside the open routes must
// carry an apikey (header or ?apikey=) that is a valid anon or service_role key. It also
// works out the principal: the Bearer token's when it verifies, else the apikey's. A Bearer
// token that fails verification does not stop the request here; it is recorded with
// security.WithAuthError for the service to reject in its own words. On open routes keys are
// still read, but a bad one is ignored rather than refused.
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
		switch p, err := g.apiKeyPrincipal(key); {
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

		if bearer := bearerToken(r); bearer != "" && !(hasPrincipal && security.SameToken(bearer, key)) {
			if p, err := g.keys.Verify(bearer); err == nil {
				principal, hasPrincipal = p, true
			} else {
				ctx = security.WithAuthError(ctx, err)
			}
		}
		if hasPrincipal {
			ctx = security.WithPrincipal(ctx, principal)
			ex.role = principal.Role
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (g *Gateway) apiKeyPrincipal(key string) (security.Principal, error) {
	if key == "" {
		return security.Principal{}, errors.New("no apikey")
	}
	p, err := g.keys.Verify(key)
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
