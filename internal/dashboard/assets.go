package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// asset is one file of the export, read once at start: the embedded files never change while
// the process runs, so each one's headers and compressed form are worked out only once.
type asset struct {
	name        string // path in the export, without a leading slash
	body        []byte
	contentType string
	etag        string
	immutable   bool   // its name carries a hash of its content
	csp         string // the Content-Security-Policy it is served with
	gzipped     func() []byte
}

// immutableDirs hold files whose names carry a hash of their content (Next's chunks, CSS
// and media), so a new build never reuses a name for other bytes. The build-id directory
// (_next/static/<build id>/) does not: its names stay the same from build to build.
var immutableDirs = []string{"_next/static/chunks/", "_next/static/css/", "_next/static/media/"}

// minGzipSize is the smallest file worth compressing: below it, gzip's header and the
// work cost more than they save (the gateway's own threshold).
const minGzipSize = 1024

// compressible are the content types sent gzipped to clients that accept it; images and
// fonts in formats that are already compressed are sent as they are.
var compressible = []string{"text/", "application/javascript", "application/json", "image/svg+xml", "application/manifest+json"}

// loadAssets reads every file of the export.
func loadAssets(files fs.FS) (map[string]*asset, error) {
	assets := map[string]*asset{}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{
			name:        name,
			body:        body,
			contentType: contentType(name),
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
			immutable:   slices.ContainsFunc(immutableDirs, func(dir string) bool { return strings.HasPrefix(name, dir) }),
			csp:         assetCSP,
		}
		if strings.HasSuffix(name, ".html") {
			a.csp = pageCSP(inlineScriptHashes(body))
		}
		if len(body) >= minGzipSize && slices.ContainsFunc(compressible, func(t string) bool { return strings.HasPrefix(a.contentType, t) }) {
			a.gzipped = sync.OnceValue(func() []byte { return gzipBytes(body) })
		}
		assets[name] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: reading the export: %w", err)
	}
	return assets, nil
}

// contentType is the file's media type by its extension. Next's React Server Component
// payloads (.txt) are text/plain, which is what its client expects from a static export.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".js", ".mjs":
		return "application/javascript; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func gzipBytes(body []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		// Only an invalid level fails, and BestCompression is valid.
		panic(err)
	}
	// Writes to a bytes.Buffer do not fail.
	_, _ = zw.Write(body)
	_ = zw.Close()
	return buf.Bytes()
}

// inlineScriptRE finds <script> elements and their text. Next writes its pages itself, so
// the markup is regular: an element's text runs to the first "</script".
var inlineScriptRE = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script`)

var srcAttrRE = regexp.MustCompile(`(?i)\ssrc\s*=`)

// inlineScriptHashes returns the CSP source expression ('sha256-…') of every inline script of
// a page, in order of appearance and without repeats. Next's static export puts the React
// Server Component payload in inline scripts; allowing exactly these, by hash, keeps
// 'unsafe-inline' out of the policy, so markup injected into a page cannot run.
func inlineScriptHashes(html []byte) []string {
	var out []string
	for _, m := range inlineScriptRE.FindAllSubmatch(html, -1) {
		if srcAttrRE.Match(m[1]) {
			continue
		}
		sum := sha256.Sum256(m[2])
		h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// cspBase is the policy every response shares: nothing from other origins, no plugins, no
// framing (clickjacking), no <base> rewriting, forms only to this origin. The API is on the
// same origin, so connect-src 'self' is all the dashboard needs (CSP 3's 'self' covers ws:
// and wss: to this host, for realtime).
const cspBase = "default-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; " +
	"connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// assetCSP is the policy of files that are not pages (scripts, stylesheets, payloads): they
// are never rendered as documents, so nothing in them may run either.
const assetCSP = "default-src 'none'; frame-ancestors 'none'"

// pageCSP is a page's policy: scripts from this origin and the page's own inline scripts,
// each allowed by its hash.
func pageCSP(hashes []string) string {
	scripts := "script-src 'self'"
	if len(hashes) > 0 {
		scripts += " " + strings.Join(hashes, " ")
	}
	return cspBase + "; " + scripts
}
