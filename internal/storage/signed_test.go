package storage_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

func TestSignedDownloadURLs(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "vault"})
		require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "vault", "dir/secret.txt", "text/plain", []byte("secret"), nil).Status)

		resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/vault/dir/secret.txt", Body: map[string]any{"expiresIn": 60}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		signed := decode[map[string]string](t, resp)["signedURL"]
		require.True(t, strings.HasPrefix(signed, "/object/sign/vault/dir/secret.txt?token="), signed)

		// Anyone with the URL reads the object, without any key, until it expires.
		got := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1" + signed, Key: "-"})
		require.Equal(t, http.StatusOK, got.Status, "%s", got.Body)
		require.Equal(t, []byte("secret"), got.Body)
		expires, err := http.ParseTime(got.Header.Get("Expires"))
		require.NoError(t, err)
		require.WithinDuration(t, time.Now().Add(time.Minute), expires, 5*time.Second)
		got = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1" + signed + "&download=s.txt", Key: "-"})
		require.Contains(t, got.Header.Get("Content-Disposition"), "filename=s.txt")

		token := strings.TrimPrefix(signed, "/object/sign/vault/dir/secret.txt?token=")
		// The token is for that object only, and only for downloads.
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/sign/vault/other.txt?token=" + token, Key: "-"}), "400", "InvalidSignature")
		resp = e.Do(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1/object/upload/sign/vault/dir/secret.txt?token=" + token, Key: "-",
			Body: []byte("overwrite"), Header: http.Header{"Content-Type": {"text/plain"}}})
		requireError(t, resp, "400", "InvalidSignature")
		// It is not an API token either.
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: token}), "403", "AccessDenied")
		// A tampered or missing token is refused.
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/sign/vault/dir/secret.txt?token=" + token + "x", Key: "-"}), "400", "InvalidJWT")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/sign/vault/dir/secret.txt", Key: "-"}), "400", "MissingParameter")
		// A token signed with the API secret itself (say, a leaked service key) is not a URL token.
		forged, err := e.Keys.Sign(jwt.MapClaims{"url": "vault/dir/secret.txt", "scope": "download", "exp": time.Now().Add(time.Hour).Unix()})
		require.NoError(t, err)
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/sign/vault/dir/secret.txt?token=" + forged, Key: "-"}), "400", "InvalidJWT")

		requireError(t, e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/vault/missing.txt", Body: map[string]any{"expiresIn": 60}}), "404", "NoSuchKey")
		requireError(t, e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/vault/dir/secret.txt", Body: map[string]any{}}), "400", "MissingParameter")

		resp = e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/vault",
			Body: map[string]any{"expiresIn": 60, "paths": []string{"dir/secret.txt", "missing.txt"}}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		batch := decode[[]struct {
			Error     *string `json:"error"`
			Path      string  `json:"path"`
			SignedURL *string `json:"signedURL"`
		}](t, resp)
		require.Len(t, batch, 2)
		require.Nil(t, batch[0].Error)
		require.Equal(t, []byte("secret"), e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1" + *batch[0].SignedURL, Key: "-"}).Body)
		require.Equal(t, "Either the object does not exist or you do not have access to it", *batch[1].Error)
		require.Nil(t, batch[1].SignedURL)
	})
}

func TestSignedURLsExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	e.createBucket(t, map[string]any{"name": "vault"})
	require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "vault", "f.txt", "text/plain", []byte("x"), nil).Status)
	resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/vault/f.txt", Body: map[string]any{"expiresIn": 1}})
	signed := decode[map[string]string](t, resp)["signedURL"]
	require.Eventually(t, func() bool {
		resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1" + signed, Key: "-"})
		return resp.Status == http.StatusBadRequest && strings.Contains(string(resp.Body), `"code":"ExpiredToken"`)
	}, 10*time.Second, 200*time.Millisecond)
}

func TestSignedUploadURLs(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "private"})
		e.exec(t, supabaseDocsPolicies)
		a := uid(1)
		tokenA := e.UserToken(t, a, nil)

		// Signing checks the right to upload now: A may not upload into B's folder.
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/upload/sign/private/" + uid(2) + "/x.txt",
			Token: tokenA, Body: map[string]any{}}), "403", "AccessDenied")

		resp := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/upload/sign/private/" + a + "/via-url.txt", Token: tokenA, Body: map[string]any{}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		signed := decode[map[string]string](t, resp)
		u, err := url.Parse(signed["url"])
		require.NoError(t, err)
		require.Equal(t, "/object/upload/sign/private/"+a+"/via-url.txt", u.Path)
		require.Equal(t, signed["token"], u.Query().Get("token"))

		// The upload needs no key, and belongs to the user who signed.
		resp = e.Do(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1" + signed["url"], Key: "-",
			Body: []byte("uploaded by URL"), Header: http.Header{"Content-Type": {"text/plain"}}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.Equal(t, "private/"+a+"/via-url.txt", decode[uploadJSON](t, resp).Key)
		require.Equal(t, []byte("uploaded by URL"), e.download(t, tokenA, "private", a+"/via-url.txt").Body)

		// Without upsert in the token, a second upload to the URL is a duplicate.
		resp = e.Do(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1" + signed["url"], Key: "-",
			Body: []byte("again"), Header: http.Header{"Content-Type": {"text/plain"}}})
		requireError(t, resp, "409", "KeyAlreadyExists")
		// The token names one object.
		resp = e.Do(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1/object/upload/sign/private/" + a + "/other.txt?token=" + signed["token"], Key: "-",
			Body: []byte("x"), Header: http.Header{"Content-Type": {"text/plain"}}})
		requireError(t, resp, "400", "InvalidSignature")
	})
}

func TestRangeAndConditionalRequests(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "media", "public": true})
		data := patterned(100_000, 7)
		require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "media", "clip.bin", "application/octet-stream", data, nil).Status)
		path := "/storage/v1/object/public/media/clip.bin"

		resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: path, Key: "-", Header: http.Header{"Range": {"bytes=1000-1999"}}})
		require.Equal(t, http.StatusPartialContent, resp.Status)
		require.Equal(t, "bytes 1000-1999/100000", resp.Header.Get("Content-Range"))
		require.Equal(t, data[1000:2000], resp.Body)

		resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: path, Key: "-", Header: http.Header{"Range": {"bytes=-10"}}})
		require.Equal(t, http.StatusPartialContent, resp.Status)
		require.Equal(t, data[len(data)-10:], resp.Body)

		resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: path, Key: "-", Header: http.Header{"Range": {"bytes=200000-"}}})
		require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.Status)

		full := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: path, Key: "-"})
		etag, modified := full.Header.Get("ETag"), full.Header.Get("Last-Modified")
		require.NotEmpty(t, etag)
		resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: path, Key: "-", Header: http.Header{"If-None-Match": {etag}}})
		require.Equal(t, http.StatusNotModified, resp.Status)
		require.Empty(t, resp.Body)
		resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: path, Key: "-", Header: http.Header{"If-Modified-Since": {modified}}})
		require.Equal(t, http.StatusNotModified, resp.Status)
		resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: path, Key: "-", Header: http.Header{"If-None-Match": {`"other"`}}})
		require.Equal(t, http.StatusOK, resp.Status)
		require.Equal(t, data, resp.Body)
	})
}
