package storage_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

const wantCSP = "default-src 'none'; sandbox"

// scriptedSVG is an image whose scripts would run on the API's origin if the browser
// rendered it as a document.
var scriptedSVG = []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1" onload="fetch('/auth/v1/user')"><script>alert(document.domain)</script></svg>`)

func TestObjectResponsesCannotActAsPagesOfTheAPIOrigin(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "images", "public": true, "allowed_mime_types": []string{"image/*"}})
		e.createBucket(t, map[string]any{"name": "docs"})
		svc := e.ServiceRoleKey()
		// An SVG with script is accepted into an image bucket: it is an image for <img>, and
		// what keeps it from running as a page is how it is served.
		require.Equal(t, http.StatusOK, e.upload(t, svc, "images", "logo.svg", "image/svg+xml", scriptedSVG, nil).Status)
		require.Equal(t, http.StatusOK, e.upload(t, svc, "images", "pic.png", "image/png", pngBytes(t, 4, 4), nil).Status)
		active := map[string]string{
			"page.xhtml": "application/xhtml+xml",
			"data.xml":   "text/xml; charset=utf-8",
			"feed.atom":  "application/atom+xml",
			"app.xml":    "application/xml",
			"icon.svg":   "image/svg+xml",
		}
		for name, contentType := range active {
			require.Equal(t, http.StatusOK, e.upload(t, svc, "docs", name, contentType, []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>`), nil).Status)
		}
		require.Equal(t, http.StatusOK, e.upload(t, svc, "docs", "page.html", "text/html", htmlPage(200), nil).Status)

		sign := func(path string, body map[string]any) string {
			resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/" + path, Body: body})
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			return "/storage/v1" + decode[map[string]string](t, resp)["signedURL"]
		}
		svgRequests := []servicetest.Request{
			{Method: http.MethodGet, Path: "/storage/v1/object/public/images/logo.svg", Key: "-"},
			{Method: http.MethodGet, Path: "/storage/v1/object/images/logo.svg", Key: "-"},
			{Method: http.MethodGet, Path: "/storage/v1/object/images/logo.svg", Token: svc},
			{Method: http.MethodGet, Path: "/storage/v1/object/authenticated/images/logo.svg", Token: svc},
			{Method: http.MethodHead, Path: "/storage/v1/object/authenticated/images/logo.svg", Token: svc},
			{Method: http.MethodGet, Path: sign("images/logo.svg", map[string]any{"expiresIn": 60}), Key: "-"},
		}
		for _, req := range svgRequests {
			resp := e.Do(t, req)
			require.Equal(t, http.StatusOK, resp.Status, "%s %s: %s", req.Method, req.Path, resp.Body)
			require.Equal(t, wantCSP, resp.Header.Get("Content-Security-Policy"), "%s %s", req.Method, req.Path)
			require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			require.Equal(t, "image/svg+xml", resp.Header.Get("Content-Type"), "the type stays, so <img> shows it")
			require.Equal(t, "attachment; filename=logo.svg; filename*=UTF-8''logo.svg;", resp.Header.Get("Content-Disposition"),
				"%s %s: opening it downloads it", req.Method, req.Path)
		}
		// ?download still names the file.
		resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/public/images/logo.svg?download=x.svg", Key: "-"})
		require.Equal(t, "attachment; filename=x.svg; filename*=UTF-8''x.svg;", resp.Header.Get("Content-Disposition"))

		for name := range active {
			resp := e.download(t, svc, "docs", name)
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			require.Equal(t, wantCSP, resp.Header.Get("Content-Security-Policy"), name)
			require.True(t, strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; filename="+name+";"), "%s: %q", name, resp.Header.Get("Content-Disposition"))
		}
		// HTML is inert as text/plain; images and text stay inline, under the same policy.
		html := e.download(t, svc, "docs", "page.html")
		require.Equal(t, "text/plain", html.Header.Get("Content-Type"))
		require.Equal(t, wantCSP, html.Header.Get("Content-Security-Policy"))
		for _, req := range []servicetest.Request{
			{Method: http.MethodGet, Path: "/storage/v1/object/public/images/pic.png", Key: "-"},
			{Method: http.MethodGet, Path: "/storage/v1/render/image/public/images/pic.png?width=2", Key: "-"},
			{Method: http.MethodGet, Path: "/storage/v1/render/image/authenticated/images/pic.png?width=2", Token: svc},
			{Method: http.MethodGet, Path: "/storage/v1/render/image/sign/images/pic.png?token=" +
				strings.SplitN(sign("images/pic.png", map[string]any{"expiresIn": 60, "transform": map[string]any{"width": 2}}), "?token=", 2)[1], Key: "-"},
		} {
			resp := e.Do(t, req)
			require.Equal(t, http.StatusOK, resp.Status, "%s: %s", req.Path, resp.Body)
			require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
			require.Equal(t, wantCSP, resp.Header.Get("Content-Security-Policy"), req.Path)
			require.Empty(t, resp.Header.Get("Content-Disposition"), req.Path)
		}

		// Every other answer of the service carries the policy too: info, errors, JSON.
		for _, req := range []servicetest.Request{
			{Method: http.MethodGet, Path: "/storage/v1/object/info/public/images/logo.svg", Key: "-"},
			{Method: http.MethodGet, Path: "/storage/v1/object/public/images/missing.svg", Key: "-"},
			{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: svc},
			{Method: http.MethodOptions, Path: "/storage/v1/upload/resumable"},
		} {
			resp := e.Do(t, req)
			require.Equal(t, wantCSP, resp.Header.Get("Content-Security-Policy"), "%s %s", req.Method, req.Path)
		}
	})
}
