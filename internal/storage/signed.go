package storage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// Scopes of signed-URL tokens: a download token cannot be used to upload, nor the reverse.
const (
	scopeDownload = "download"
	scopeUpload   = "upload"
)

// urlClaims are the claims of a signed-URL token, as Supabase puts them: the object the
// token is for (bucket/name), its scope, and for uploads the owner and upsert chosen when
// it was signed; for render URLs the transformation.
type urlClaims struct {
	URL             string `json:"url"`
	Scope           string `json:"scope"`
	Transformations string `json:"transformations,omitempty"`
	Owner           string `json:"owner,omitempty"`
	Upsert          bool   `json:"upsert,omitempty"`
	jwt.RegisteredClaims
}

func (c urlClaims) expiresAt() time.Time {
	if c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Time
}

// urlSigner signs and checks signed-URL tokens (HS256 JWTs) with a key of their own, derived
// from the JWT secret as Supabase keeps a separate URL signing key: a signed-URL token is
// therefore never a valid API token, nor the reverse. The key is the HS256 signature that
// security.Keys makes of a fixed statement, that is an HMAC-SHA256 of it under the secret: a
// pseudo-random function of the secret, the same on every node that shares the secret.
type urlSigner struct {
	key    []byte
	parser *jwt.Parser
}

func newURLSigner(keys *security.Keys) (urlSigner, error) {
	key, err := deriveKey(keys, "goforward storage signed URL key")
	if err != nil {
		return urlSigner{}, fmt.Errorf("derive signed-URL key: %w", err)
	}
	return urlSigner{
		key: key,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
		),
	}, nil
}

// deriveKey is a key of the service's own for purpose: the HS256 signature security.Keys
// makes of a fixed statement naming the purpose, that is an HMAC-SHA256 of it under the JWT
// secret. Different purposes give unrelated keys, and every node sharing the secret derives
// the same ones.
func deriveKey(keys *security.Keys, purpose string) ([]byte, error) {
	statement, err := keys.Sign(jwt.MapClaims{"purpose": purpose, "version": 1})
	if err != nil {
		return nil, err
	}
	return base64.RawURLEncoding.DecodeString(statement[strings.LastIndexByte(statement, '.')+1:])
}

func (u urlSigner) sign(claims urlClaims, ttl time.Duration) (string, error) {
	now := time.Now()
	claims.IssuedAt = jwt.NewNumericDate(now)
	claims.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(u.key)
	if err != nil {
		return "", fmt.Errorf("sign URL token: %w", err)
	}
	return token, nil
}

// verify checks a token's signature, expiry, scope and that it was issued for url
// ("bucket/name"), with Supabase's errors for each failure.
func (u urlSigner) verify(token, scope, url string) (urlClaims, error) {
	if token == "" {
		return urlClaims{}, errMissingParameter("token")
	}
	var claims urlClaims
	_, err := u.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return u.key, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return urlClaims{}, errExpiredToken().WithCause(err)
	case err != nil:
		return urlClaims{}, storageError(http.StatusBadRequest, CodeInvalidJWT, "", jwtMessage(err, token)).WithCause(err)
	case claims.Scope != scope:
		return urlClaims{}, errInvalidSignature("Token is not scoped for " + scope)
	case claims.URL != url:
		return urlClaims{}, errInvalidSignature("")
	}
	return claims, nil
}

// signRequest is the body of POST /object/sign/{bucket}/{name}.
type signRequest struct {
	ExpiresIn *int64         `json:"expiresIn"`
	Transform *transformSpec `json:"transform"`
}

// signURL serves POST /object/sign/{bucket}/{name}: a URL anyone may fetch the object with
// until it expires, for callers whose SELECT policies let them see it now.
func (s *Service) signURL(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	bucket, name := r.PathValue("bucket"), r.PathValue("name")
	if err := checkObjectName(name); err != nil {
		return err
	}
	var req signRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	ttl, err := expiresIn(req.ExpiresIn)
	if err != nil {
		return err
	}
	claims := urlClaims{URL: bucket + "/" + name, Scope: scopeDownload}
	path := "/object/sign/"
	if req.Transform != nil && !req.Transform.empty() {
		t, err := req.Transform.validate(s.cfg.ImageMaxDimension)
		if err != nil {
			return err
		}
		claims.Transformations, path = t.String(), "/render/image/sign/"
	}
	var found bool
	err = s.runner.InRole(r.Context(), c.scope(r), func(tx pgx.Tx) error {
		row, err := findObject(r.Context(), tx, bucket, name)
		found = row != nil
		return err
	})
	if err != nil {
		return dbError(err)
	}
	if !found {
		return errNoSuchKey()
	}
	token, err := s.urls.sign(claims, ttl)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"signedURL": path + claims.URL + "?token=" + token})
}

func expiresIn(v *int64) (time.Duration, error) {
	if v == nil {
		return 0, errMissingParameter("expiresIn")
	}
	const maxSeconds = int64(100 * 365 * 24 * time.Hour / time.Second)
	if *v < 1 || *v > maxSeconds {
		return 0, errInvalidParameter("expiresIn", "expiresIn must be a number of seconds of at least 1")
	}
	return time.Duration(*v) * time.Second, nil
}

// signURLsRequest is the body of POST /object/sign/{bucket}.
type signURLsRequest struct {
	ExpiresIn *int64   `json:"expiresIn"`
	Paths     []string `json:"paths"`
}

// signedURLEntry is one answer of POST /object/sign/{bucket}.
type signedURLEntry struct {
	Error     *string `json:"error"`
	Path      string  `json:"path"`
	SignedURL *string `json:"signedURL"`
}

// maxSignPaths bounds one batch, as Supabase bounds its lookups.
const maxSignPaths = 1000

// signURLs serves POST /object/sign/{bucket}: signed URLs for many objects at once; an object
// the caller cannot see gets an error entry instead.
func (s *Service) signURLs(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	bucket := r.PathValue("bucket")
	var req signURLsRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	ttl, err := expiresIn(req.ExpiresIn)
	if err != nil {
		return err
	}
	if len(req.Paths) == 0 {
		return errMissingParameter("paths")
	}
	if len(req.Paths) > maxSignPaths {
		return errInvalidRequest("At most " + strconv.Itoa(maxSignPaths) + " paths can be signed per request.")
	}
	visible := map[string]bool{}
	err = s.runner.InRole(r.Context(), c.scope(r), func(tx pgx.Tx) error {
		rows, err := tx.Query(r.Context(), `SELECT name FROM storage.objects WHERE bucket_id = $1 AND name = ANY($2)`, bucket, req.Paths)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, n := range names {
			visible[n] = true
		}
		return err
	})
	if err != nil {
		return dbError(err)
	}
	out := make([]signedURLEntry, 0, len(req.Paths))
	for _, p := range req.Paths {
		entry := signedURLEntry{Path: p}
		if !visible[p] {
			msg := "Either the object does not exist or you do not have access to it"
			entry.Error = &msg
			out = append(out, entry)
			continue
		}
		token, err := s.urls.sign(urlClaims{URL: bucket + "/" + p, Scope: scopeDownload}, ttl)
		if err != nil {
			return err
		}
		u := "/object/sign/" + bucket + "/" + p + "?token=" + token
		entry.SignedURL = &u
		out = append(out, entry)
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

// signUploadURL serves POST /object/upload/sign/{bucket}/{name}: a URL that uploads the
// object without a token, for a while. The caller's right to upload is checked now (its
// INSERT policy, or SELECT and UPDATE with x-upsert), and the upload will belong to it.
func (s *Service) signUploadURL(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	bucket, name := r.PathValue("bucket"), r.PathValue("name")
	if err := checkObjectName(name); err != nil {
		return err
	}
	upsert := r.Header.Get("x-upsert") == "true"
	probe := newObject{ID: newUUID(), Bucket: bucket, Name: name, Owner: c.owner(), Version: newUUID()}
	if _, err := s.checkUpload(r.Context(), c.scope(r), probe, upsert, func(bucketLimits) error { return nil }); err != nil {
		return err
	}
	claims := urlClaims{URL: bucket + "/" + name, Scope: scopeUpload, Owner: c.principal.Subject, Upsert: upsert}
	token, err := s.urls.sign(claims, s.cfg.SignedUploadURLExpiry)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{
		"url":   "/object/upload/sign/" + claims.URL + "?token=" + token,
		"token": token,
	})
}

// uploadSigned serves PUT /object/upload/sign/{bucket}/{name}?token=: the upload a signed
// upload URL allows. The permission was checked when the URL was signed; the row is written
// as service_role on behalf of the signer, as Supabase writes it as its superuser.
func (s *Service) uploadSigned(w http.ResponseWriter, r *http.Request) error {
	bucket, name := r.PathValue("bucket"), r.PathValue("name")
	if err := checkObjectName(name); err != nil {
		return err
	}
	claims, err := s.urls.verify(r.URL.Query().Get("token"), scopeUpload, bucket+"/"+name)
	if err != nil {
		return err
	}
	target := uploadTarget{
		bucket: bucket,
		name:   name,
		upsert: claims.Upsert,
		owner:  ownerOf(claims.Owner),
		scope:  serviceScope(r),
	}
	res, err := s.uploadFromRequest(w, r, target)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, uploadResponse{ID: res.ID, Key: bucket + "/" + name})
}
