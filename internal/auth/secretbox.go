package auth

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

// sealedPrefix marks a value encrypted by secretBox; anything else is read as plain text
// (factors imported from a GoTrue without database encryption).
const sealedPrefix = "gf1:"

// keyPurpose labels the derivation of secretBox's key, so that no other use of the JWT
// secret can produce the same bytes.
const keyPurpose = "goforward.auth.mfa-secret-encryption.v1"

// secretBox encrypts TOTP secrets at rest with AES-256-GCM, binding each ciphertext to its
// factor's id (the additional data), so that a secret copied to another row does not open.
// The key is HMAC-SHA256(JWT secret, keyPurpose): it is computed through Keys.Sign, so the
// JWT secret never leaves the security package, and it changes with the secret (see
// docs/auth.md: rotating the JWT secret voids TOTP factors).
type secretBox struct {
	aead cipher.AEAD
}

func newSecretBox(keys *security.Keys) (*secretBox, error) {
	// An HS256 signature is HMAC-SHA256(secret, header.payload): with a fixed payload it is
	// a key derived from the secret. The signed token itself authorises nothing: it has no
	// role, which every verifier requires.
	token, err := keys.Sign(jwt.MapClaims{"purpose": keyPurpose})
	if err != nil {
		return nil, fmt.Errorf("auth: derive the MFA secret key: %w", err)
	}
	key, err := base64.RawURLEncoding.DecodeString(token[strings.LastIndexByte(token, '.')+1:])
	if err != nil || len(key) != 32 {
		return nil, errors.New("auth: derive the MFA secret key: unexpected signature")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("auth: MFA secret cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("auth: MFA secret cipher: %w", err)
	}
	return &secretBox{aead: aead}, nil
}

// seal encrypts plaintext for the row identified by binding.
func (b *secretBox) seal(plaintext, binding string) string {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce) // never fails: the runtime aborts rather than return an error
	sealed := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(binding))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(sealed)
}

// open decrypts a value written by seal for the same binding; a value without the prefix is
// returned as it is.
func (b *secretBox) open(stored, binding string) (string, error) {
	encoded, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errors.New("auth: sealed MFA secret is malformed")
	}
	nonce, ciphertext := raw[:b.aead.NonceSize()], raw[b.aead.NonceSize():]
	plaintext, err := b.aead.Open(nil, nonce, ciphertext, []byte(binding))
	if err != nil {
		return "", fmt.Errorf("auth: open MFA secret (was the JWT secret changed?): %w", err)
	}
	return string(plaintext), nil
}
