package storage_test

import (
	"bytes"
	"image"
	"image/jpeg"
	_ "image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

func decodeImage(t *testing.T, resp servicetest.Response) (image.Image, string) {
	t.Helper()
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	img, format, err := image.Decode(bytes.NewReader(resp.Body))
	require.NoError(t, err)
	return img, format
}

func TestRenderImageResizes(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "pics", "public": true})
		require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "pics", "wide.png", "image/png", pngBytes(t, 40, 20), nil).Status)
		render := func(query string) servicetest.Response {
			return e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/render/image/public/pics/wide.png?" + query, Key: "-"})
		}
		cases := []struct {
			query         string
			width, height int
		}{
			{"width=10&height=10&resize=cover", 10, 10},
			{"width=10&height=10", 10, 10}, // cover is the default
			{"width=10&height=10&resize=contain", 10, 5},
			{"width=10&height=10&resize=fill", 10, 10},
			{"width=10", 10, 5},
			{"height=4", 8, 4},
			{"format=origin", 40, 20},
		}
		for _, tc := range cases {
			img, format := decodeImage(t, render(tc.query))
			require.Equal(t, "png", format, tc.query)
			require.Equal(t, tc.width, img.Bounds().Dx(), tc.query)
			require.Equal(t, tc.height, img.Bounds().Dy(), tc.query)
		}
		// cover crops the middle: the left edge is red, the right edge blue.
		img, _ := decodeImage(t, render("width=10&height=10&resize=cover"))
		r, _, b, _ := img.At(0, 5).RGBA()
		require.Greater(t, r, b)
		r, _, b, _ = img.At(9, 5).RGBA()
		require.Greater(t, b, r)

		resp := render("width=10")
		require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
		etag := resp.Header.Get("ETag")
		require.NotEmpty(t, etag)
		again := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/render/image/public/pics/wide.png?width=10", Key: "-",
			Header: http.Header{"If-None-Match": {etag}}})
		require.Equal(t, http.StatusNotModified, again.Status)
		require.NotEqual(t, etag, render("width=11").Header.Get("ETag"))

		for _, bad := range []string{"width=2501", "width=abc", "resize=stretch", "quality=5", "format=gif"} {
			requireError(t, render(bad), "400", "InvalidParameter")
		}
		// Private access needs a token; the authenticated route takes one.
		require.Equal(t, http.StatusOK, e.Do(t, servicetest.Request{Method: http.MethodGet,
			Path: "/storage/v1/render/image/authenticated/pics/wide.png?width=5", Token: e.ServiceRoleKey()}).Status)
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/render/image/authenticated/pics/wide.png?width=5", Key: "-"}), "403", "AccessDenied")
	})
}

func TestRenderImageJPEGQualityAndSignedTransforms(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		renderJPEGAndSigned(t, e)
	})
}

func renderJPEGAndSigned(t *testing.T, e *env) {
	e.createBucket(t, map[string]any{"name": "photos"})
	var src bytes.Buffer
	img, _, err := image.Decode(bytes.NewReader(pngBytes(t, 64, 64)))
	require.NoError(t, err)
	require.NoError(t, jpeg.Encode(&src, img, &jpeg.Options{Quality: 95}))
	require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "photos", "p.jpg", "image/jpeg", src.Bytes(), nil).Status)

	get := func(query string) servicetest.Response {
		return e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/render/image/authenticated/photos/p.jpg?" + query, Token: e.ServiceRoleKey()})
	}
	high, low := get("width=64&quality=100"), get("width=64&quality=20")
	_, format := decodeImage(t, high)
	require.Equal(t, "jpeg", format)
	require.Less(t, len(low.Body), len(high.Body), "a lower quality gives a smaller JPEG")

	// A signed URL with a transformation serves the transformed image, whatever the query says.
	resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/photos/p.jpg",
		Body: map[string]any{"expiresIn": 60, "transform": map[string]any{"width": 16, "height": 8, "resize": "fill"}}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	signed := decode[map[string]string](t, resp)["signedURL"]
	require.True(t, strings.HasPrefix(signed, "/render/image/sign/photos/p.jpg?token="), signed)
	out, _ := decodeImage(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1" + signed + "&width=500", Key: "-"}))
	require.Equal(t, image.Pt(16, 8), out.Bounds().Size())
}

func TestRenderImageLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{ImageMaxSourcePixels: 100, ImageMaxDimension: 50})
	e.createBucket(t, map[string]any{"name": "pics", "public": true})
	require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "pics", "big.png", "image/png", pngBytes(t, 20, 20), nil).Status)
	require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "pics", "small.png", "image/png", pngBytes(t, 5, 5), nil).Status)
	require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "pics", "text.png", "text/plain", []byte("not an image"), nil).Status)
	render := func(path string) servicetest.Response {
		return e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/render/image/public/pics/" + path, Key: "-"})
	}
	requireError(t, render("big.png?width=10"), "413", "EntityTooLarge")
	requireError(t, render("small.png?width=51"), "400", "InvalidParameter")
	require.Equal(t, http.StatusOK, render("small.png?width=50").Status)
	requireError(t, render("text.png?width=10"), "400", "InvalidRequest")

	off := newEnv(t, "local", storage.Config{DisableImageTransformation: true})
	off.createBucket(t, map[string]any{"name": "pics", "public": true})
	requireError(t, off.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/render/image/public/pics/x.png", Key: "-"}), "400", "FeatureNotEnabled")
}

func TestXTransformationsListsWhatWasAppliedInSupabasesWords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	e.createBucket(t, map[string]any{"name": "pics", "public": true})
	require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "pics", "wide.png", "image/png", pngBytes(t, 40, 20), nil).Status)
	header := func(query string) string {
		t.Helper()
		resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/render/image/public/pics/wide.png?" + query, Key: "-"})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		return resp.Header.Get("X-Transformations")
	}
	// Height before width, the resize mode as imgproxy's resizing_type, quality only when
	// asked for: the header Supabase's renderer sends.
	require.Equal(t, "height:100,width:200,resizing_type:fill,quality:60", header("width=200&height=100&quality=60"))
	require.Equal(t, "height:10,width:20,resizing_type:fit", header("width=20&height=10&resize=contain"))
	require.Equal(t, "height:10,width:20,resizing_type:force", header("resize=fill&width=20&height=10"))
	require.Equal(t, "width:20,resizing_type:fill", header("width=20"))
	require.Equal(t, "quality:90", header("quality=90"))
	resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/render/image/public/pics/wide.png?format=origin", Key: "-"})
	require.Equal(t, http.StatusOK, resp.Status)
	require.NotContains(t, resp.Header, "X-Transformations", "nothing applied, nothing listed")

	// A signed render URL reports its signed transformation the same way (storage-js's test).
	signed := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/pics/wide.png",
		Body: map[string]any{"expiresIn": 60, "transform": map[string]any{"width": 200, "height": 200, "quality": 60}}})
	require.Equal(t, http.StatusOK, signed.Status, "%s", signed.Body)
	url := decode[map[string]string](t, signed)["signedURL"]
	resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1" + url, Key: "-"})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.Equal(t, "height:200,width:200,resizing_type:fill,quality:60", resp.Header.Get("X-Transformations"))
}
