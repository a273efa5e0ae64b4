// Package dashboard serves the admin dashboard at /: the static export of the Next.js app in
// the repository's dashboard/ directory, embedded in the binary. It is a feature service like
// the APIs beside it, on the same origin, so the dashboard's admin session rides in the
// HttpOnly cookie of /admin/v1 and no token ever reaches the page's script storage.
//
// What it adds to plain file serving: pretty URLs (/users serves users.html), a fallback for
// client routes below a page (/users/anything serves users.html), long caching of files whose
// names carry a hash and revalidation of everything else, a Content-Security-Policy that
// allows a page's own inline scripts by hash and nothing inline besides, gzip done once per
// file, and no path outside the export.
package dashboard

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Prefix is where the service is mounted: the site root. It routes only the export's own
// paths (its pages, their sub-paths and its files), so every other path, the APIs' included,
// stays with its service or the gateway's 404.
const Prefix = "/"

// OpenPaths need no apikey: the dashboard is public files; what it shows comes from the APIs,
// which check the admin session themselves.
var OpenPaths = []string{"/"}

// Config is the service's configuration.
type Config struct {
	// Reserved are paths of the APIs and the gateway ("/auth/v1", "/health"). A page or file
	// of the export whose first path segment is one of theirs is refused at start, so the
	// dashboard can never shadow an API route.
	Reserved []string
}

// Deps are the service's collaborators.
type Deps struct {
	// Files is the export (index.html, _next/…). Nil: the binary was built without the
	// dashboard, and / says so.
	Files  fs.FS
	Logger *slog.Logger
}

// Service serves the dashboard.
type Service struct {
	assets   map[string]*asset
	pages    map[string]*asset // by route, without slashes: "" for index.html, "users" for users.html
	notFound *asset            // 404.html, served for a missing path the routes lead here
	// fileExts are the extensions of the export's files: a missing path with one of them is
	// a missing file (404), never a client route.
	fileExts []string
	logger   *slog.Logger
}

// New reads the export and checks that none of it sits under a reserved path.
func New(cfg Config, deps Deps) (*Service, error) {
	s := &Service{logger: deps.Logger, pages: map[string]*asset{}}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if deps.Files == nil {
		return s, nil
	}
	var err error
	if s.assets, err = loadAssets(deps.Files); err != nil {
		return nil, err
	}
	if _, ok := s.assets["index.html"]; !ok {
		return nil, errors.New("dashboard: the export has no index.html (run npm run build in dashboard/)")
	}
	for name, a := range s.assets {
		if route, ok := strings.CutSuffix(name, ".html"); ok && isPage(route) {
			s.pages[strings.TrimSuffix(route, "index")] = a
		}
		if first := topSegment(name); slices.ContainsFunc(cfg.Reserved, func(r string) bool { return topSegment(r) == first }) {
			return nil, fmt.Errorf("dashboard: the export's %s would shadow the API path /%s", name, first)
		}
		if ext := path.Ext(name); ext != "" && !slices.Contains(s.fileExts, ext) {
			s.fileExts = append(s.fileExts, ext)
		}
		if strings.ContainsAny(name, "{}") {
			return nil, fmt.Errorf("dashboard: the export's %s has a name a route cannot hold", name)
		}
	}
	s.notFound = s.assets["404.html"]
	return s, nil
}

// isPage tells a page's HTML from Next's error pages (404.html, _not-found.html).
func isPage(route string) bool {
	base := path.Base(route)
	return base != "404" && base != "500" && !strings.HasPrefix(base, "_")
}

// topSegment is the first segment of a path, without its extension: "users.html" and
// "users/x.txt" are both "users", so a page and its directory are judged together.
func topSegment(p string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if ext := path.Ext(first); ext != "" {
		first = strings.TrimSuffix(first, ext)
	}
	return first
}

// Mount registers the root, every top-level file and directory of the export, and each page
// with the paths below it.
func (s *Service) Mount(mux *http.ServeMux) {
	if s.assets == nil {
		mux.HandleFunc("GET /{$}", s.notBuilt)
		return
	}
	patterns := []string{"GET /{$}"}
	add := func(p string) {
		if !slices.Contains(patterns, p) {
			patterns = append(patterns, p)
		}
	}
	for name := range s.assets {
		first, rest, nested := strings.Cut(name, "/")
		if nested && rest != "" {
			add("GET /" + first + "/")
			continue
		}
		add("GET /" + name)
	}
	for route := range s.pages {
		if route != "" && !strings.Contains(route, "/") {
			add("GET /" + route)
			add("GET /" + route + "/")
		}
	}
	slices.Sort(patterns)
	for _, p := range patterns {
		mux.HandleFunc(p, s.serve)
	}
}

func (s *Service) notBuilt(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("This goforward binary was built without the dashboard (build tag no_dashboard).\n" +
		"The APIs are served as usual; manage Go Forward with the goforward command or /admin/v1.\n"))
}

// serve answers a path the routes led here: the file itself, a page by its pretty URL, or the
// page a client route lies under.
func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	a, status := s.lookup(r.URL.Path)
	if a == nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	s.write(w, r, a, status)
}

// lookup resolves a request path to an asset and the status to answer with.
func (s *Service) lookup(urlPath string) (*asset, int) {
	name := strings.Trim(urlPath, "/")
	// ServeMux has already cleaned the path; this refuses what a cleaned path can still hold
	// (a NUL, a backslash some file systems would read as a separator) and any dot segment.
	if name != "" && (!fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00")) {
		return s.notFound, http.StatusNotFound
	}
	if a, ok := s.assets[name]; ok && !strings.HasSuffix(urlPath, "/") {
		return a, http.StatusOK
	}
	if a, ok := s.pages[name]; ok {
		return a, http.StatusOK
	}
	if slices.Contains(s.fileExts, path.Ext(name)) {
		return s.notFound, http.StatusNotFound
	}
	// A client route below a page (/users/123, /tables/public.posts): the page renders it
	// from the URL.
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if a, ok := s.pages[dir]; ok {
			return a, http.StatusOK
		}
	}
	return s.notFound, http.StatusNotFound
}

// write sends an asset with its caching, security and encoding headers. http.ServeContent
// answers conditional requests (If-None-Match against the ETag), ranges and HEAD.
func (s *Service) write(w http.ResponseWriter, r *http.Request, a *asset, status int) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Security-Policy", a.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Vary", "Accept-Encoding")
	if a.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// Pages and payloads keep their names from build to build: always revalidate (cheap,
		// with the ETag), so an upgraded binary is seen at the next load.
		h.Set("Cache-Control", "no-cache")
	}
	body, etag := a.body, a.etag
	if a.gzipped != nil && acceptsGzip(r) {
		body, etag = a.gzipped(), strings.TrimSuffix(a.etag, `"`)+`-gzip"`
		h.Set("Content-Encoding", "gzip")
	}
	if status != http.StatusOK {
		// The 404 page: no ranges or revalidation, just the page with its status.
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
		return
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip (q > 0).
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.TrimSpace(coding) != "*" {
				continue
			}
			q := strings.TrimSpace(params)
			if v, ok := strings.CutPrefix(q, "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}
