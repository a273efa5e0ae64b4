package storage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// uploadSecretParam is the query parameter of an upload URL that carries its secret. It is
// named token so that the gateway's access log redacts it.
const uploadSecretParam = "token"

// uploadSecrets binds an upload begun without a subject to whoever was given its Location.
// Every anonymous caller shares the subject "" (and so do service-role keys), so the
// subject cannot tell one anonymous uploader from another, and the upload id alone, which
// shows up in logs and client storage, must not be enough to continue or abort someone
// else's upload. The secret is an HMAC of the upload id under a key derived from the JWT
// secret: nothing to store, the same on every node, unforgeable without the secret.
type uploadSecrets struct {
	key []byte
}

func (u uploadSecrets) of(id string) string {
	mac := hmac.New(sha256.New, u.key)
	mac.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (u uploadSecrets) valid(id, secret string) bool {
	return hmac.Equal([]byte(secret), []byte(u.of(id)))
}

// location is the upload's URL as the client is to use it. TUS clients (tus-js-client,
// Uppy) follow the Location header as given, query included, for every later HEAD, PATCH
// and DELETE, and store it to resume after a reload, so the secret travels with it. An
// upload bound to a subject needs none.
func (u uploadSecrets) location(up resumableUpload) string {
	loc := Prefix + "/upload/resumable/" + up.ID
	if up.OwnerID == "" {
		loc += "?" + uploadSecretParam + "=" + u.of(up.ID)
	}
	return loc
}
