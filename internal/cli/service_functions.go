package cli

import (
	"net/http"
	"regexp"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// functionsPrefix is Supabase Edge Functions' address, where supabase-js's functions.invoke
// sends its requests.
const functionsPrefix = "/functions/v1"

// functionNamePattern is what Supabase accepts as a function's slug.
var functionNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}$`)

// ValidFunctionName reports whether name can be served at /functions/v1/{name}.
func ValidFunctionName(name string) bool { return functionNamePattern.MatchString(name) }

// functionsService serves the Go handlers an embedding program registered, behind the
// gateway's apikey check, CORS, rate and body limits and access log. The plain binary has
// none: every function name answers 404 as Supabase does for a function never deployed.
func functionsService() serviceBuilder {
	return serviceBuilder{name: "functions", build: func(d serviceDeps) (builtService, error) {
		fns := d.emb.functions()
		return builtService{Service: gateway.Service{Name: "functions", Prefix: functionsPrefix, Mount: func(mux *http.ServeMux) {
			for _, fn := range fns {
				h := requireValidJWT(fn.Handler)
				mux.Handle(functionsPrefix+"/"+fn.Name, h)
				mux.Handle(functionsPrefix+"/"+fn.Name+"/", h)
			}
			mux.HandleFunc(functionsPrefix+"/", func(w http.ResponseWriter, _ *http.Request) {
				_ = httpx.WriteJSON(w, http.StatusNotFound, map[string]string{"code": "NOT_FOUND", "message": "Requested function was not found"})
			})
		}}}, nil
	}}
}

// requireValidJWT refuses a request whose Bearer token failed verification, as Supabase's
// functions do (verify_jwt): the gateway passes such a request on with the apikey's role,
// but a function must not run for a caller who claimed to be someone and could not prove it.
func requireValidJWT(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if security.AuthErrorFrom(r.Context()) != nil {
			_ = httpx.WriteJSON(w, http.StatusUnauthorized, map[string]any{"code": http.StatusUnauthorized, "message": "Invalid JWT"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
