package storage_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

// tusMetadata encodes Upload-Metadata as tus-js-client does.
func tusMetadata(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, pairs[i]+" "+base64.StdEncoding.EncodeToString([]byte(pairs[i+1])))
	}
	return strings.Join(parts, ",")
}

func tusHeader(h http.Header) http.Header {
	out := http.Header{"Tus-Resumable": {"1.0.0"}}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// tusCreate starts an upload and returns its path under /storage/v1.
func (e *env) tusCreate(t *testing.T, token string, length int, meta string, extra http.Header) servicetest.Response {
	t.Helper()
	h := http.Header{"Upload-Length": {strconv.Itoa(length)}, "Upload-Metadata": {meta}}
	for k, v := range extra {
		h[k] = v
	}
	return e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/upload/resumable", Token: token, Header: tusHeader(h)})
}

func (e *env) tusPatch(t *testing.T, token, location string, offset int, chunk []byte) servicetest.Response {
	t.Helper()
	return e.Do(t, servicetest.Request{Method: http.MethodPatch, Path: location, Token: token, Body: chunk, Header: tusHeader(http.Header{
		"Upload-Offset": {strconv.Itoa(offset)}, "Content-Type": {"application/offset+octet-stream"},
	})})
}

func (e *env) tusOffset(t *testing.T, token, location string) (int, servicetest.Response) {
	t.Helper()
	resp := e.Do(t, servicetest.Request{Method: http.MethodHead, Path: location, Token: token, Header: tusHeader(nil)})
	offset, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
	return offset, resp
}

func TestResumableUploadSurvivesAnInterruption(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "videos"})
		e.exec(t, strings.ReplaceAll(supabaseDocsPolicies, "'private'", "'videos'"))
		a := uid(1)
		token := e.UserToken(t, a, nil)
		data := patterned(3<<20+12345, 9)
		meta := tusMetadata("bucketName", "videos", "objectName", a+"/movie.bin", "contentType", "video/mp4", "cacheControl", "3600", "metadata", `{"take":2}`)

		created := e.tusCreate(t, token, len(data), meta, nil)
		require.Equal(t, http.StatusCreated, created.Status, "%s", created.Body)
		require.Equal(t, "1.0.0", created.Header.Get("Tus-Resumable"))
		location := created.Header.Get("Location")
		require.True(t, strings.HasPrefix(location, "/storage/v1/upload/resumable/"), location)
		_, err := http.ParseTime(created.Header.Get("Upload-Expires"))
		require.NoError(t, err)

		const chunk = 1 << 20
		resp := e.tusPatch(t, token, location, 0, data[:chunk])
		require.Equal(t, http.StatusNoContent, resp.Status, "%s", resp.Body)
		require.Equal(t, strconv.Itoa(chunk), resp.Header.Get("Upload-Offset"))

		// The second chunk breaks off half way: the connection drops.
		interruptedPatch(t, e, token, location, chunk, data[chunk:2*chunk], chunk/2)
		require.Eventually(t, func() bool {
			offset, resp := e.tusOffset(t, token, location)
			return resp.Status == http.StatusOK && offset == chunk
		}, 10*time.Second, 20*time.Millisecond, "the server offers to resume where the last whole chunk ended")

		_, head := e.tusOffset(t, token, location)
		require.Equal(t, strconv.Itoa(len(data)), head.Header.Get("Upload-Length"))
		require.Equal(t, "no-store", head.Header.Get("Cache-Control"))

		// A PATCH at the wrong offset is a conflict; another user cannot see the upload.
		require.Equal(t, http.StatusConflict, e.tusPatch(t, token, location, 0, data[:10]).Status)
		_, other := e.tusOffset(t, e.UserToken(t, uid(2), nil), location)
		require.Equal(t, http.StatusNotFound, other.Status)

		// Resume from the offset the server has.
		offset := chunk
		for offset < len(data) {
			end := min(offset+chunk, len(data))
			resp := e.tusPatch(t, token, location, offset, data[offset:end])
			require.Equal(t, http.StatusNoContent, resp.Status, "%s", resp.Body)
			offset = end
		}
		got := e.download(t, token, "videos", a+"/movie.bin")
		require.Equal(t, http.StatusOK, got.Status, "%s", got.Body)
		require.True(t, bytes.Equal(data, got.Body), "the assembled object is the uploaded bytes")
		require.Equal(t, "video/mp4", got.Header.Get("Content-Type"))
		require.Equal(t, "max-age=3600", got.Header.Get("Cache-Control"))
		info := decode[infoJSON](t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/videos/" + a + "/movie.bin", Token: token}))
		require.Equal(t, map[string]any{"take": float64(2)}, info.Metadata)
		require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.objects WHERE owner_id = $1`, a))

		require.Zero(t, e.count(t, `SELECT count(*) FROM storage.resumable_uploads`))
		require.Len(t, e.blobKeys(t), 1, "the parts are gone, only the object's bytes remain")
		_, gone := e.tusOffset(t, token, location)
		require.Equal(t, http.StatusNotFound, gone.Status)
	})
}

// interruptedPatch sends the first cut bytes of chunk and then drops the connection.
func interruptedPatch(t *testing.T, e *env, token, location string, offset int, chunk []byte, cut int) {
	t.Helper()
	body, feed := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, e.URL+location, body)
	require.NoError(t, err)
	req.ContentLength = int64(len(chunk))
	req.Header = tusHeader(http.Header{
		"Upload-Offset": {strconv.Itoa(offset)}, "Content-Type": {"application/offset+octet-stream"},
		"Apikey": {e.AnonKey()}, "Authorization": {"Bearer " + token},
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	_, err = feed.Write(chunk[:cut])
	require.NoError(t, err)
	cancel()
	feed.CloseWithError(io.ErrUnexpectedEOF)
	<-done
}

func TestResumableUploadRules(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "up", "file_size_limit": 1000, "allowed_mime_types": []string{"text/*"}})
		svc := e.ServiceRoleKey()
		meta := tusMetadata("bucketName", "up", "objectName", "a.txt", "contentType", "text/plain")

		opts := e.Do(t, servicetest.Request{Method: http.MethodOptions, Path: "/storage/v1/upload/resumable"})
		require.Equal(t, http.StatusNoContent, opts.Status)
		require.Equal(t, "1.0.0", opts.Header.Get("Tus-Version"))
		require.Contains(t, opts.Header.Get("Tus-Extension"), "creation")

		resp := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/upload/resumable", Token: svc,
			Header: http.Header{"Tus-Resumable": {"0.2.2"}, "Upload-Length": {"5"}, "Upload-Metadata": {meta}}})
		require.Equal(t, http.StatusPreconditionFailed, resp.Status)
		require.Equal(t, "1.0.0", resp.Header.Get("Tus-Version"))

		require.Equal(t, http.StatusRequestEntityTooLarge, e.tusCreate(t, svc, 1001, meta, nil).Status)
		require.Equal(t, http.StatusUnsupportedMediaType,
			e.tusCreate(t, svc, 5, tusMetadata("bucketName", "up", "objectName", "a.bin", "contentType", "image/png"), nil).Status)
		require.Equal(t, http.StatusNotFound,
			e.tusCreate(t, svc, 5, tusMetadata("bucketName", "nope", "objectName", "a.txt"), nil).Status)
		require.Equal(t, http.StatusBadRequest, e.tusCreate(t, svc, 5, tusMetadata("bucketName", "up"), nil).Status)
		require.Equal(t, http.StatusForbidden, e.tusCreate(t, "", 5, meta, nil).Status, "anon may not write without a policy")
		require.Equal(t, http.StatusForbidden, e.tusCreate(t, "", 5, meta, http.Header{"Authorization": {"Bearer nope"}}).Status)

		// Creation with upload: the whole body comes with the POST.
		resp = e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/upload/resumable", Token: svc, Body: []byte("hello"),
			Header: tusHeader(http.Header{"Upload-Length": {"5"}, "Upload-Metadata": {meta}, "Content-Type": {"application/offset+octet-stream"}})})
		require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
		require.Equal(t, "5", resp.Header.Get("Upload-Offset"))
		require.Equal(t, []byte("hello"), e.download(t, svc, "up", "a.txt").Body)

		// The name is taken now; x-upsert replaces it.
		require.Equal(t, http.StatusConflict, e.tusCreate(t, svc, 3, meta, nil).Status)
		created := e.tusCreate(t, svc, 3, meta, http.Header{"X-Upsert": {"true"}})
		require.Equal(t, http.StatusCreated, created.Status)
		location := created.Header.Get("Location")
		require.Equal(t, http.StatusRequestEntityTooLarge, e.tusPatch(t, svc, location, 0, []byte("toolong")).Status)
		require.Equal(t, http.StatusNoContent, e.tusPatch(t, svc, location, 0, []byte("new")).Status)
		require.Equal(t, []byte("new"), e.download(t, svc, "up", "a.txt").Body)

		// An empty upload is complete when it is created.
		resp = e.tusCreate(t, svc, 0, tusMetadata("bucketName", "up", "objectName", "empty.txt", "contentType", "text/plain"), nil)
		require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
		require.Empty(t, e.download(t, svc, "up", "empty.txt").Body)

		// Termination removes what was sent.
		created = e.tusCreate(t, svc, 10, tusMetadata("bucketName", "up", "objectName", "b.txt", "contentType", "text/plain"), nil)
		location = created.Header.Get("Location")
		require.Equal(t, http.StatusNoContent, e.tusPatch(t, svc, location, 0, []byte("12345")).Status)
		resp = e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: location, Token: svc, Header: tusHeader(nil)})
		require.Equal(t, http.StatusNoContent, resp.Status)
		_, head := e.tusOffset(t, svc, location)
		require.Equal(t, http.StatusNotFound, head.Status)

		for _, id := range []string{"not-a-uuid", "00000000-0000-4000-8000-000000000000"} {
			_, head = e.tusOffset(t, svc, "/storage/v1/upload/resumable/"+id)
			require.Equal(t, http.StatusNotFound, head.Status, id)
		}

		require.Zero(t, e.count(t, `SELECT count(*) FROM storage.resumable_uploads`))
		require.Len(t, e.blobKeys(t), 2, "a.txt and empty.txt; no parts left")
	})
}

func TestResumableUploadsCheckPoliciesAndSniffTheAssembledBytes(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{VerifyContent: true}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "private", "allowed_mime_types": []string{"image/*"}})
		e.exec(t, supabaseDocsPolicies)
		a, b := uid(1), uid(2)
		tokenA := e.UserToken(t, a, nil)

		resp := e.tusCreate(t, tokenA, 5, tusMetadata("bucketName", "private", "objectName", b+"/x.png", "contentType", "image/png"), nil)
		require.Equal(t, http.StatusForbidden, resp.Status, "%s", resp.Body)

		// Declared an image, the bytes are an HTML page: refused when assembled, and the
		// upload is over (HEAD says it is gone, so the client cannot believe it is done).
		page := []byte("<!DOCTYPE html><html><body>not an image</body></html>")
		created := e.tusCreate(t, tokenA, len(page), tusMetadata("bucketName", "private", "objectName", a+"/x.png", "contentType", "image/png"), nil)
		require.Equal(t, http.StatusCreated, created.Status)
		location := created.Header.Get("Location")
		require.Equal(t, http.StatusUnsupportedMediaType, e.tusPatch(t, tokenA, location, 0, page).Status)
		_, head := e.tusOffset(t, tokenA, location)
		require.Equal(t, http.StatusNotFound, head.Status)
		require.Zero(t, e.count(t, `SELECT count(*) FROM storage.objects`))
		require.Empty(t, e.blobKeys(t))
	})
}

func TestRunRemovesExpiredResumableUploads(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{SweepInterval: 20 * time.Millisecond}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "up"})
		svc := e.ServiceRoleKey()
		created := e.tusCreate(t, svc, 100, tusMetadata("bucketName", "up", "objectName", "slow.bin"), nil)
		location := created.Header.Get("Location")
		require.Equal(t, http.StatusNoContent, e.tusPatch(t, svc, location, 0, make([]byte, 40)).Status)
		require.Len(t, e.blobKeys(t), 1, "one part stored")
		e.exec(t, `UPDATE storage.resumable_uploads SET expires_at = now() - interval '1 minute'`)
		_, head := e.tusOffset(t, svc, location)
		require.Equal(t, http.StatusNotFound, head.Status, "an expired upload cannot be continued")

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.service.Run(ctx) }()
		require.Eventually(t, func() bool {
			return e.count(t, `SELECT count(*) FROM storage.resumable_uploads`) == 0 && len(e.blobKeys(t)) == 0
		}, 10*time.Second, 20*time.Millisecond)
		cancel()
		require.NoError(t, <-done)
	})
}

func TestAnonymousResumableUploadsBelongToWhoeverWasGivenTheirLocation(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "drop"})
		e.exec(t, `create policy "anyone drops files" on storage.objects for insert to anon with check (bucket_id = 'drop')`)
		data := []byte("an anonymous upload")
		meta := func(name string) string {
			return tusMetadata("bucketName", "drop", "objectName", name, "contentType", "text/plain")
		}
		created := e.tusCreate(t, "", len(data), meta("mine.txt"), nil)
		require.Equal(t, http.StatusCreated, created.Status, "%s", created.Body)
		location := created.Header.Get("Location")
		path, query, found := strings.Cut(location, "?")
		require.True(t, found, "the Location carries the upload's secret: %s", location)
		require.True(t, strings.HasPrefix(query, "token="), location)

		// Another anonymous caller, a signed-in user, or anyone with a wrong secret or the
		// secret of another upload, knows the id and nothing more: the upload does not exist
		// for them, and they can neither read, continue nor abort it.
		other := e.tusCreate(t, "", 5, meta("other.txt"), nil).Header.Get("Location")
		otherSecret := other[strings.Index(other, "?"):]
		for _, attempt := range []struct{ token, url string }{
			{"", path},
			{"", path + "?token="},
			{"", path + "?token=" + strings.Repeat("A", 43)},
			{"", path + otherSecret},
			{e.UserToken(t, uid(1), nil), path},
			{e.UserToken(t, uid(1), nil), location},
		} {
			_, head := e.tusOffset(t, attempt.token, attempt.url)
			require.Equal(t, http.StatusNotFound, head.Status, attempt.url)
			require.Equal(t, http.StatusNotFound, e.tusPatch(t, attempt.token, attempt.url, 0, data[:5]).Status, attempt.url)
			resp := e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: attempt.url, Token: attempt.token, Header: tusHeader(nil)})
			require.Equal(t, http.StatusNotFound, resp.Status, attempt.url)
		}
		require.Equal(t, 2, e.count(t, `SELECT count(*) FROM storage.resumable_uploads`), "nothing was aborted")

		// The creator follows the Location as given, as tus-js-client does.
		offset, head := e.tusOffset(t, "", location)
		require.Equal(t, http.StatusOK, head.Status)
		require.Zero(t, offset)
		require.Equal(t, http.StatusNoContent, e.tusPatch(t, "", location, 0, data[:7]).Status)
		require.Equal(t, http.StatusNoContent, e.tusPatch(t, "", location, 7, data[7:]).Status)
		got := e.download(t, e.ServiceRoleKey(), "drop", "mine.txt")
		require.Equal(t, data, got.Body)
		resp := e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: other, Header: tusHeader(nil)})
		require.Equal(t, http.StatusNoContent, resp.Status)

		// An upload begun with the service key has no subject either: an anonymous caller
		// cannot take it over, the service role can continue any upload.
		created = e.tusCreate(t, e.ServiceRoleKey(), len(data), meta("service.txt"), nil)
		location = created.Header.Get("Location")
		path, _, _ = strings.Cut(location, "?")
		_, head = e.tusOffset(t, "", path)
		require.Equal(t, http.StatusNotFound, head.Status)
		require.Equal(t, http.StatusNoContent, e.tusPatch(t, e.ServiceRoleKey(), path, 0, data).Status)

		// An upload bound to a subject needs no secret.
		e.exec(t, `create policy "users drop files" on storage.objects for insert to authenticated with check (bucket_id = 'drop')`)
		user := e.UserToken(t, uid(2), nil)
		created = e.tusCreate(t, user, len(data), meta("user.txt"), nil)
		require.Equal(t, "/storage/v1/upload/resumable/", strings.TrimRight(created.Header.Get("Location"), "0123456789abcdef-"))
		require.Equal(t, http.StatusNoContent, e.tusPatch(t, user, created.Header.Get("Location"), 0, data).Status)
		require.Zero(t, e.count(t, `SELECT count(*) FROM storage.resumable_uploads`))
	})
}
