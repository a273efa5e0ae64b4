package gateway

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The header lists supabase-js needs (see the wire reference, section 1.2), plus our request
// id and the TUS headers tus-js-client reads when it resumes an upload in a browser. Preflights also allow whatever extra headers the browser asks for, as Kong's CORS
// plugin does when no header list is configured: apps add their own global headers.
const (
	corsAllowMethods  = "GET,POST,PUT,PATCH,DELETE,OPTIONS,HEAD"
	corsAllowHeaders  = "authorization,apikey,content-type,x-client-info,accept-profile,content-profile,prefer,range,x-upsert,cache-control,x-supabase-api-version,x-region,x-metadata,tus-resumable,upload-length,upload-offset,upload-metadata,x-request-id"
	corsExposeHeaders = "content-range,x-total-count,link,x-supabase-api-version,location,upload-offset,upload-length,upload-expires,tus-resumable,tus-version,etag,content-disposition,x-request-id"
	// maxExtraCORSHeaders bounds how many requested header names a preflight answer echoes.
	maxExtraCORSHeaders = 32
)

// cors answers preflight requests and adds CORS headers to responses for allowed origins.
// Disallowed origins get no CORS headers, which makes the browser refuse the response.
func (g *Gateway) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowOrigin, allowed := g.allowOrigin(origin)

		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if allowed {
				h.Set("Access-Control-Allow-Origin", allowOrigin)
				h.Set("Access-Control-Allow-Methods", corsAllowMethods)
				h.Set("Access-Control-Allow-Headers", allowHeaders(r.Header.Values("Access-Control-Request-Headers")))
				if g.cfg.CORS.MaxAge > 0 {
					h.Set("Access-Control-Max-Age", strconv.Itoa(int(g.cfg.CORS.MaxAge.Seconds())))
				}
				if g.cfg.CORS.AllowCredentials {
					h.Set("Access-Control-Allow-Credentials", "true")
				}
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}

		if allowed {
			h.Set("Access-Control-Allow-Origin", allowOrigin)
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			if g.cfg.CORS.AllowCredentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		next.ServeHTTP(w, r)
	})
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin and whether the
// origin is allowed at all.
func (g *Gateway) allowOrigin(origin string) (string, bool) {
	allowed := g.cfg.Development && isLocalOrigin(origin)
	wildcard := false
	for _, o := range g.cfg.CORS.AllowedOrigins {
		if o == "*" {
			wildcard = true
		} else if strings.EqualFold(o, origin) {
			allowed = true
		}
	}
	switch {
	case allowed:
		return origin, true
	case wildcard && g.cfg.CORS.AllowCredentials:
		// Browsers reject "*" together with credentials, so the origin is echoed.
		return origin, true
	case wildcard:
		return "*", true
	}
	return "", false
}

// isLocalOrigin matches http(s) origins on localhost, 127.0.0.1 or [::1], any port.
func isLocalOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" || u.User != nil {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// allowHeaders is the fixed list plus the well-formed extra names the preflight asked for.
func allowHeaders(requested []string) string {
	var b strings.Builder
	b.WriteString(corsAllowHeaders)
	known := strings.Split(corsAllowHeaders, ",")
	extra := 0
	for _, line := range requested {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if extra == maxExtraCORSHeaders || !isToken(name) || slices.Contains(known, name) {
				continue
			}
			known = append(known, name)
			b.WriteString(",")
			b.WriteString(name)
			extra++
		}
	}
	return b.String()
}

// isToken reports whether s is a valid HTTP header name (an RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
