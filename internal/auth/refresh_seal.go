package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// childSealPurpose labels the key derived from a parent refresh token, so that the same token
// can never yield this key for another use.
const childSealPurpose = "goforward.auth.refresh-token-child.v1"

// Refresh tokens are stored as SHA-256 hashes, yet a client that lost the answer to a refresh
// and presents the parent again must get the active token back (as GoTrue answers) rather
// than a new sibling. So each child is also stored encrypted under a key only its parent's
// plaintext gives: the holder of the parent opens it, a reader of the database does not.

// sealChild encrypts child under a key derived from parent, bound to the child's row (its
// session and hash), so that a sealed value copied to another row does not open.
func sealChild(parent, child, sessionID string) string {
	aead := childAEAD(parent)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce) // never fails: the runtime aborts rather than return an error
	sealed := aead.Seal(nonce, nonce, []byte(child), childBinding(sessionID, sha256Hex(child)))
	return base64.RawStdEncoding.EncodeToString(sealed)
}

// openChild decrypts what sealChild stored for the row (sessionID, childHash) with the
// parent token presented, and checks that it is the token the row stands for.
func openChild(parent, sealed, sessionID, childHash string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	aead := childAEAD(parent)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("auth: sealed refresh token is malformed")
	}
	nonce, ciphertext := raw[:aead.NonceSize()], raw[aead.NonceSize():]
	child, err := aead.Open(nil, nonce, ciphertext, childBinding(sessionID, childHash))
	if err != nil || !hmac.Equal([]byte(sha256Hex(string(child))), []byte(childHash)) {
		return "", errors.New("auth: sealed refresh token does not open with this parent")
	}
	return string(child), nil
}

func childAEAD(parent string) cipher.AEAD {
	mac := hmac.New(sha256.New, []byte(parent))
	mac.Write([]byte(childSealPurpose))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		panic("auth: AES-256 refused a 32-byte key: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("auth: GCM refused AES: " + err.Error())
	}
	return aead
}

func childBinding(sessionID, childHash string) []byte {
	return []byte(sessionID + "/" + childHash)
}
