package signingkeys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goforward/goforward/internal/security"
)

// sealedPrefix marks a private key sealed by box.
const sealedPrefix = "gf1:"

// keyPurpose labels the derivation of box's key, so that no other use of the JWT secret
// (TOTP secrets, storage's signed URLs) produces the same bytes.
const keyPurpose = "goforward.signing-keys.private-key-encryption.v1"

// box seals private keys at rest with AES-256-GCM under HMAC-SHA256(JWT secret, keyPurpose),
// each bound to its key's id, exactly as auth seals TOTP secrets: a database dump alone
// does not give the signing keys. After a rotation of the JWT secret it also opens what the
// previous secret's key sealed, and Reseal moves those to the current key.
type box struct {
	aead     cipher.AEAD
	previous cipher.AEAD
}

func newBox(keys *security.Keys) (*box, error) {
	aead, err := boxCipher(keys.Sign)
	if err != nil {
		return nil, err
	}
	b := &box{aead: aead}
	if keys.HasPreviousSecret() {
		if b.previous, err = boxCipher(keys.SignWithPreviousSecret); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// boxCipher derives the AES key as an HS256 signature of a fixed statement: an HMAC of it
// under the secret. The statement has no role, so the signed token authorises nothing.
func boxCipher(sign func(jwt.MapClaims) (string, error)) (cipher.AEAD, error) {
	token, err := sign(jwt.MapClaims{"purpose": keyPurpose})
	if err != nil {
		return nil, fmt.Errorf("signingkeys: derive the sealing key: %w", err)
	}
	key, err := base64.RawURLEncoding.DecodeString(token[strings.LastIndexByte(token, '.')+1:])
	if err != nil || len(key) != 32 {
		return nil, errors.New("signingkeys: derive the sealing key: unexpected signature")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (b *box) seal(plaintext []byte, id string) string {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce) // never fails: the runtime aborts rather than return an error
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plaintext, []byte(id)))
}

// open returns the private key sealed for id, and whether the current key sealed it (false:
// the previous secret's did, and Reseal should move it).
func (b *box) open(stored, id string) ([]byte, bool, error) {
	encoded, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return nil, false, errors.New("signingkeys: private key is not sealed")
	}
	raw, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return nil, false, errors.New("signingkeys: sealed private key is malformed")
	}
	nonce, ciphertext := raw[:b.aead.NonceSize()], raw[b.aead.NonceSize():]
	plain, err := b.aead.Open(nil, nonce, ciphertext, []byte(id))
	if err == nil {
		return plain, true, nil
	}
	if b.previous != nil {
		if plain, err = b.previous.Open(nil, nonce, ciphertext, []byte(id)); err == nil {
			return plain, false, nil
		}
	}
	return nil, false, fmt.Errorf("signingkeys: open the private key of %s (was the JWT secret changed without goforward keys rotate-jwt-secret or jwt.previous_secret?): %w", id, err)
}
