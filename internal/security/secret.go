package security

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// GenerateSecret returns a new random JWT secret: 32 bytes from crypto/rand as 64 hex
// characters. The hex text itself is the secret (its bytes are what NewKeys gets), as with
// Supabase's JWT_SECRET.
func GenerateSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("security: generate secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}
