package dashboard_test

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	export "github.com/goforward/goforward/dashboard"
	"github.com/goforward/goforward/internal/dashboard"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/security"
)

// The inline script of the fixture's index page, whose hash the page's policy must carry.
const inlineScript = `self.__next_f=self.__next_f||[];self.__next_f.push([0])`

var bigScript = "console.log(" + strings.Repeat(`"a long line of JavaScript", `, 200) + "0);"

// fixture is a small export shaped like Next's: pages, a page's payload directory, hashed
// chunks, the build-id directory and the 404 page.
func fixture() fstest.MapFS {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	return fstest.MapFS{
		"index.html": file(`<!DOCTYPE html><html><head><script src="/_next/static/chunks/app-1a2b.js" async=""></script></head>` +
			`<body><h1>home</h1><script>` + inlineScript + `</script><script id="_R_">` + inlineScript + `</script></body></html>`),
		"users.html":                             file(`<!DOCTYPE html><html><body><h1>users</h1></body></html>`),
		"users/__next.users.__PAGE__.txt":        file(`users payload`),
		"settings.html":                          file(`<!DOCTYPE html><html><body><h1>settings</h1></body></html>`),
		"404.html":                               file(`<!DOCTYPE html><html><body><h1>not found</h1></body></html>`),
		"_not-found.html":                        file(`<!DOCTYPE html><html><body><h1>not found</h1></body></html>`),
		"index.txt":                              file(`index payload`),
		"favicon.ico":                            file("\x00\x00\x01\x00"),
		"_next/static/chunks/app-1a2b.js":        file(bigScript),
		"_next/static/chunks/small-9f.js":        file(`1;`),
		"_next/static/goforward/_ssgManifest.js": file(`self.__SSG_MANIFEST=new Set;`),
	}
}

// apiStandIn is a service under /auth/v1 with one route, to show the dashboard leaves every
// other path of the API alone.
func apiStandIn() gateway.Service {
	return gateway.Service{Name: "auth", Prefix: "/auth/v1", Mount: func(mux *http.ServeMux) {
		mux.HandleFunc("GET /auth/v1/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "auth ok") })
	}, Open: []string{"/auth/v1/health"}}
}

// serveExport runs the dashboard built from files behind the real gateway.
func serveExport(t *testing.T, files fs.FS, gatewayGzip bool) *httptest.Server {
	t.Helper()
	svc, err := dashboard.New(dashboard.Config{Reserved: []string{"/auth/v1", "/health"}}, dashboard.Deps{Files: files})
	require.NoError(t, err)
	keys, err := security.NewKeys([]byte("dashboard-test-secret-0123456789abcdef"), "", time.Unix(1_700_000_000, 0))
	require.NoError(t, err)
	gw, err := gateway.New(gateway.Config{Gzip: gatewayGzip}, gateway.Deps{Keys: keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, apiStandIn(),
		gateway.Service{Name: "dashboard", Prefix: dashboard.Prefix, Mount: svc.Mount, Open: dashboard.OpenPaths})
	require.NoError(t, err)
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   string
}

// get fetches a path as a browser would, without following redirects; gzip is decoded here
// (the transport's own decoding is off, so the test sees the real Content-Encoding).
func get(t *testing.T, srv *httptest.Server, target string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+target, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{
		Transport: &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		require.NoError(t, err)
		body = zr
	}
	raw, err := io.ReadAll(body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	srv := serveExport(t, fixture(), true)
	tests := []struct {
		name, path string
		status     int
		contains   string
		mediaType  string
	}{
		{"root", "/", 200, "<h1>home</h1>", "text/html"},
		{"index by name", "/index.html", 200, "<h1>home</h1>", "text/html"},
		{"a page by its pretty URL", "/users", 200, "<h1>users</h1>", "text/html"},
		{"a page with a trailing slash", "/users/", 200, "<h1>users</h1>", "text/html"},
		{"a page's payload", "/users/__next.users.__PAGE__.txt", 200, "users payload", "text/plain"},
		{"a client route below a page", "/users/4f0c-id", 200, "<h1>users</h1>", "text/html"},
		{"a client route with dots", "/users/public.posts/rows", 200, "<h1>users</h1>", "text/html"},
		{"a chunk", "/_next/static/chunks/small-9f.js", 200, "1;", "application/javascript"},
		{"a missing chunk", "/_next/static/chunks/gone.js", 404, "not found", "text/html"},
		{"a missing payload below a page", "/users/gone.txt", 404, "not found", "text/html"},
		{"an error page has no client routes", "/_not-found/x", 404, "no Route matched", "application/json"},
		{"the favicon", "/favicon.ico", 200, "\x00\x00\x01\x00", "image/x-icon"},
		{"an unknown top-level path is the gateway's", "/nothing-here", 404, "no Route matched", "application/json"},
		{"an API route still reaches its service", "/auth/v1/health", 200, "auth ok", "text/plain"},
		{"an unknown API path still needs a key", "/auth/v1/nothing", 401, "No API key found", "application/json"},
		{"the gateway's own routes", "/health", 200, `"ok"`, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, srv, tt.path, nil)
			require.Equal(t, tt.status, r.status, r.body)
			require.Contains(t, r.body, tt.contains)
			require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), tt.mediaType), r.header.Get("Content-Type"))
		})
	}
}

func TestTraversalIsRefused(t *testing.T) {
	t.Parallel()
	srv := serveExport(t, fixture(), true)
	for _, p := range []string{
		"/_next/../../../etc/passwd",
		"/_next/%2e%2e/%2e%2e/etc/passwd",
		"/_next/..%2f..%2f..%2fetc%2fpasswd",
		"/users/..%2f..%2fdashboard.go",
		"/users/..%5c..%5cdashboard.go",
		"/_next/static/chunks/%00.js",
		"/users/%2e%2e",
		"//etc/passwd",
	} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			r := get(t, srv, p, nil)
			if r.status == http.StatusMovedPermanently {
				// ServeMux cleans the path first; the cleaned path must lead nowhere outside.
				loc := r.header.Get("Location")
				require.NotContains(t, loc, "..")
				r = get(t, srv, loc, nil)
			}
			require.NotEqual(t, http.StatusOK, r.status, "%s answered %q", p, r.body)
			require.NotContains(t, r.body, "root:")
			require.NotContains(t, r.body, "package dashboard")
		})
	}
}

func TestCaching(t *testing.T) {
	t.Parallel()
	srv := serveExport(t, fixture(), true)
	t.Run("hashed chunks are cached for a year", func(t *testing.T) {
		r := get(t, srv, "/_next/static/chunks/small-9f.js", nil)
		require.Equal(t, "public, max-age=31536000, immutable", r.header.Get("Cache-Control"))
	})
	for _, p := range []string{"/", "/users", "/users/4f0c-id", "/index.txt", "/favicon.ico", "/_next/static/goforward/_ssgManifest.js"} {
		t.Run("revalidated: "+p, func(t *testing.T) {
			r := get(t, srv, p, nil)
			require.Equal(t, 200, r.status)
			require.Equal(t, "no-cache", r.header.Get("Cache-Control"))
		})
	}
	t.Run("a revalidation answers 304", func(t *testing.T) {
		first := get(t, srv, "/users", nil)
		etag := first.header.Get("ETag")
		require.NotEmpty(t, etag)
		again := get(t, srv, "/users", map[string]string{"If-None-Match": etag})
		require.Equal(t, http.StatusNotModified, again.status)
		require.Empty(t, again.body)
	})
	t.Run("the 404 page is not cached", func(t *testing.T) {
		r := get(t, srv, "/_next/static/chunks/gone.js", nil)
		require.Equal(t, "no-cache", r.header.Get("Cache-Control"))
		require.Empty(t, r.header.Get("ETag"))
	})
}

func TestContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	srv := serveExport(t, fixture(), true)
	sum := sha256.Sum256([]byte(inlineScript))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"

	page := get(t, srv, "/", nil).header.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(page, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	require.Equal(t, "'self' "+hash, directives["script-src"], "the page's inline script, once, by hash")
	require.Equal(t, "'self'", directives["default-src"])
	require.Equal(t, "'self'", directives["style-src"])
	require.Equal(t, "'self'", directives["connect-src"])
	require.Equal(t, "'none'", directives["object-src"])
	require.Equal(t, "'none'", directives["frame-ancestors"])
	require.Equal(t, "'none'", directives["base-uri"])
	require.NotContains(t, page, "unsafe-inline")
	require.NotContains(t, page, "unsafe-eval")

	require.True(t, strings.HasSuffix(get(t, srv, "/users", nil).header.Get("Content-Security-Policy"), "; script-src 'self'"),
		"a page without inline scripts allows only this origin's")
	require.Equal(t, "default-src 'none'; frame-ancestors 'none'", get(t, srv, "/_next/static/chunks/small-9f.js", nil).header.Get("Content-Security-Policy"))
	for _, p := range []string{"/", "/_next/static/chunks/small-9f.js", "/_next/static/chunks/gone.js"} {
		r := get(t, srv, p, nil)
		require.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"), p)
		require.NotEmpty(t, r.header.Get("Content-Security-Policy"), p)
	}
}

func TestGzip(t *testing.T) {
	t.Parallel()
	for _, gatewayGzip := range []bool{true, false} {
		srv := serveExport(t, fixture(), gatewayGzip)
		name := map[bool]string{true: "gateway gzip on", false: "gateway gzip off"}[gatewayGzip]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := get(t, srv, "/_next/static/chunks/app-1a2b.js", map[string]string{"Accept-Encoding": "gzip, br"})
			require.Equal(t, 200, r.status)
			require.Equal(t, "gzip", r.header.Get("Content-Encoding"), "compressed once, whatever the gateway does")
			require.Equal(t, bigScript, r.body)
			require.Contains(t, r.header.Values("Vary"), "Accept-Encoding")

			plain := get(t, srv, "/_next/static/chunks/app-1a2b.js", nil)
			require.Empty(t, plain.header.Get("Content-Encoding"))
			require.Equal(t, bigScript, plain.body)
			require.NotEqual(t, plain.header.Get("ETag"), r.header.Get("ETag"), "each encoding has its own validator")

			refused := get(t, srv, "/_next/static/chunks/app-1a2b.js", map[string]string{"Accept-Encoding": "gzip;q=0"})
			require.Empty(t, refused.header.Get("Content-Encoding"))

			tiny := get(t, srv, "/_next/static/chunks/small-9f.js", map[string]string{"Accept-Encoding": "gzip"})
			require.Empty(t, tiny.header.Get("Content-Encoding"), "too small to be worth it")
		})
	}
}

func TestHeadAndRanges(t *testing.T) {
	t.Parallel()
	srv := serveExport(t, fixture(), true)
	req, err := http.NewRequest(http.MethodHead, srv.URL+"/users", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))

	r := get(t, srv, "/_next/static/chunks/app-1a2b.js", map[string]string{"Range": "bytes=0-11"})
	require.Equal(t, http.StatusPartialContent, r.status)
	require.Equal(t, bigScript[:12], r.body)
}

func TestReservedPathsAreRefused(t *testing.T) {
	t.Parallel()
	files := fixture()
	files["auth.html"] = &fstest.MapFile{Data: []byte("<html></html>")}
	_, err := dashboard.New(dashboard.Config{Reserved: []string{"/auth/v1"}}, dashboard.Deps{Files: files})
	require.ErrorContains(t, err, "would shadow the API path /auth")

	files = fixture()
	files["health/x.txt"] = &fstest.MapFile{Data: []byte("x")}
	_, err = dashboard.New(dashboard.Config{Reserved: []string{"/health"}}, dashboard.Deps{Files: files})
	require.ErrorContains(t, err, "would shadow the API path /health")

	files = fixture()
	delete(files, "index.html")
	_, err = dashboard.New(dashboard.Config{}, dashboard.Deps{Files: files})
	require.ErrorContains(t, err, "no index.html")
}

func TestBuiltWithoutTheDashboard(t *testing.T) {
	t.Parallel()
	srv := serveExport(t, nil, true)
	r := get(t, srv, "/", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Contains(t, r.body, "built without the dashboard")
	require.Equal(t, 200, get(t, srv, "/auth/v1/health", nil).status)
}

// TestTheEmbeddedExport checks the real build: every page is reachable, none shadows an API
// path, and every inline script of every page is allowed by that page's policy.
func TestTheEmbeddedExport(t *testing.T) {
	t.Parallel()
	files := export.Files()
	require.NotNil(t, files, "built with no_dashboard")
	srv := serveExport(t, files, true)
	pages, err := fs.Glob(files, "*.html")
	require.NoError(t, err)
	require.Contains(t, pages, "index.html")
	for _, page := range pages {
		route := "/" + strings.TrimSuffix(strings.TrimSuffix(page, ".html"), "index")
		if route == "/404" || strings.HasPrefix(route, "/_") {
			continue
		}
		raw, err := fs.ReadFile(files, page)
		require.NoError(t, err)
		r := get(t, srv, route, map[string]string{"Accept-Encoding": "gzip"})
		require.Equal(t, 200, r.status, route)
		require.Equal(t, string(raw), r.body, route)
		csp := r.header.Get("Content-Security-Policy")
		for _, script := range inlineScripts(string(raw)) {
			sum := sha256.Sum256([]byte(script))
			require.Contains(t, csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'", "%s: an inline script the policy would block", route)
		}
	}
}

// inlineScripts extracts inline script bodies the simple way, independently of the service.
func inlineScripts(html string) []string {
	var out []string
	for _, part := range strings.Split(html, "<script")[1:] {
		tag, rest, ok := strings.Cut(part, ">")
		if !ok || strings.Contains(tag, "src=") {
			continue
		}
		body, _, _ := strings.Cut(rest, "</script>")
		out = append(out, body)
	}
	return out
}
