package gateway

import (
	"crypto/rand"
	"net/http"

	"github.com/goforward/goforward/internal/httpx"
)

const (
	requestIDHeader    = "X-Request-Id"
	maxRequestIDLength = 64
)

// assignRequestID reuses a well-formed X-Request-Id from the client (or a proxy in front) and
// otherwise makes one up, echoes it in the response and stores it, with the logger, in the
// request context.
func (g *Gateway) assignRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set(requestIDHeader, id)
		ctx := httpx.WithLogger(httpx.WithRequestID(r.Context(), id), g.logger)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// validRequestID accepts 1–64 characters of [A-Za-z0-9._-], so an id is safe to log and echo.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
