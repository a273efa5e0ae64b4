package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/goforward/goforward/internal/httpx"
)

// logAccess creates the request's exchange and writes one log line per request once it is
// done. The line never includes headers, and credentials in the query string are redacted.
func (g *Gateway) logAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ex := g.resolve(r)
		ex.w = httpx.NewStatusWriter(w)
		r = r.WithContext(withExchange(r.Context(), ex))

		completed := false
		defer func() {
			ctx := r.Context()
			status := ex.w.Status()
			if status == 0 && errors.Is(ctx.Err(), context.Canceled) {
				// The client went away before anything was sent (nginx's 499): normal
				// traffic, logged at info like any request.
				status = httpx.StatusClientClosedRequest
			}
			attrs := []slog.Attr{
				slog.String("request_id", httpx.RequestID(ctx)),
				slog.String("method", r.Method),
				slog.String("path", redactedURI(r.URL)),
				slog.String("route", ex.route),
				slog.String("service", ex.service),
				slog.Int("status", status),
				slog.Int64("bytes", ex.w.BytesWritten()),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("ip", clientIPText(ctx)),
				slog.String("role", ex.role),
			}
			if ex.apiKeyID != "" {
				// Which key (never the key itself): what to revoke after a leak, and
				// what last_used_at alone cannot tell.
				attrs = append(attrs, slog.String("api_key_id", ex.apiKeyID))
			}
			if !completed {
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			g.logger.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		}()
		next.ServeHTTP(ex.w, r)
		completed = true
	})
}

// redactedURI is the request path and query with the values of credential-carrying query
// parameters replaced, keeping the rest as sent.
func redactedURI(u *url.URL) string {
	p := u.EscapedPath()
	if u.RawQuery == "" {
		return p
	}
	params := strings.Split(u.RawQuery, "&")
	for i, param := range params {
		rawName, _, hasValue := strings.Cut(param, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			name = rawName
		}
		if hasValue && sensitiveParam(name) {
			params[i] = rawName + "=redacted"
		}
	}
	return p + "?" + strings.Join(params, "&")
}

// sensitiveParam names the query parameters Supabase clients and e-mail links use for keys,
// tokens and one-time codes.
func sensitiveParam(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "apikey", "token", "token_hash", "access_token", "refresh_token",
		"provider_token", "provider_refresh_token", "code", "password":
		return true
	}
	return false
}
