package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

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
// docs/auth.md).
//
// After a rotation (`goforward keys rotate-jwt-secret`) the box also holds the key of the
// previous secret: it opens what that key sealed, and ReencryptMFASecrets re-seals those
// values with the current key, so that rotating the secret no longer voids TOTP factors.
type secretBox struct {
	aead cipher.AEAD
	// previous opens values sealed before the last rotation; nil without one.
	previous cipher.AEAD
}

func newSecretBox(keys *security.Keys) (*secretBox, error) {
	aead, err := boxCipher(keys.Sign)
	if err != nil {
		return nil, err
	}
	b := &secretBox{aead: aead}
	if keys.HasPreviousSecret() {
		if b.previous, err = boxCipher(keys.SignWithPreviousSecret); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// boxCipher derives the box's AES-256-GCM key with sign. An HS256 signature is
// HMAC-SHA256(secret, header.payload): with a fixed payload it is a key derived from the
// secret. The signed token itself authorises nothing: it has no role, which every verifier
// requires.
func boxCipher(sign func(jwt.MapClaims) (string, error)) (cipher.AEAD, error) {
	token, err := sign(jwt.MapClaims{"purpose": keyPurpose})
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
	return aead, nil
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
	if err != nil && b.previous != nil {
		plaintext, err = b.previous.Open(nil, nonce, ciphertext, []byte(binding))
	}
	if err != nil {
		return "", fmt.Errorf("auth: open MFA secret (was the JWT secret changed without goforward keys rotate-jwt-secret?): %w", err)
	}
	return string(plaintext), nil
}

// sealedWithCurrent reports whether stored is plain text or opens with the current key:
// nothing to re-seal.
func (b *secretBox) sealedWithCurrent(stored, binding string) bool {
	encoded, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return true
	}
	raw, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return false
	}
	_, err = b.aead.Open(nil, raw[:b.aead.NonceSize()], raw[b.aead.NonceSize():], []byte(binding))
	return err == nil
}

// Reencrypted is what ReencryptMFASecrets did.
type Reencrypted struct {
	// Resealed factors were sealed with the previous secret's key and now are with the
	// current one.
	Resealed int `json:"resealed"`
	// Unreadable factors open with neither key (the secret was changed twice, or by hand):
	// their users must enroll again.
	Unreadable int `json:"unreadable"`
}

// ReencryptMFASecrets re-seals, through tx, every TOTP secret that only the previous secret's
// key opens (keys must know it: security.WithPreviousSecret) with the current key. Run it
// after a rotation; it is idempotent, and factors already on the current key are left alone.
func ReencryptMFASecrets(ctx context.Context, tx pgx.Tx, keys *security.Keys) (Reencrypted, error) {
	var res Reencrypted
	box, err := newSecretBox(keys)
	if err != nil {
		return res, err
	}
	rows, err := tx.Query(ctx, `SELECT id::text, secret FROM auth.mfa_factors
WHERE secret LIKE $1 ORDER BY id FOR UPDATE`, sealedPrefix+"%")
	if err != nil {
		return res, fmt.Errorf("auth: read MFA secrets: %w", err)
	}
	type factor struct{ id, secret string }
	factors, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (factor, error) {
		var f factor
		err := r.Scan(&f.id, &f.secret)
		return f, err
	})
	if err != nil {
		return res, fmt.Errorf("auth: read MFA secrets: %w", err)
	}
	for _, f := range factors {
		if box.sealedWithCurrent(f.secret, f.id) {
			continue
		}
		plain, err := box.open(f.secret, f.id)
		if err != nil {
			res.Unreadable++
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE auth.mfa_factors SET secret = $2 WHERE id = $1`, f.id, box.seal(plain, f.id)); err != nil {
			return res, fmt.Errorf("auth: re-seal MFA secret: %w", err)
		}
		res.Resealed++
	}
	return res, nil
}
