package auth

import (
	"encoding/json"
	"net/mail"
	"strings"

	"github.com/goforward/goforward/internal/sms"
)

// normaliseEmail lower-cases and checks an e-mail address, with GoTrue's messages.
func normaliseEmail(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if email == "" {
		return "", badRequest(CodeValidationFailed, "An email address is required")
	}
	if len(email) > maxEmailLength {
		return "", badRequest(CodeValidationFailed, "An email address is too long")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return "", badRequest(CodeValidationFailed, "Unable to validate email address: invalid format")
	}
	return email, nil
}

// normalisePhone returns the number as GoTrue stores it: E.164 digits without the "+".
func normalisePhone(raw string) (string, error) {
	e164, ok := sms.ValidPhone(raw)
	if !ok {
		return "", badRequest(CodeValidationFailed, "Invalid phone number format (E.164 required)")
	}
	return strings.TrimPrefix(e164, "+"), nil
}

// maxTokenLength bounds the codes and token hashes accepted by /verify and PUT /user; real
// ones are at most 61 characters ("pkce_" and a 56-digit hash).
const maxTokenLength = 128

// maxMetadataBytes bounds user_metadata sent by clients, which every access token carries.
const maxMetadataBytes = 16 << 10

// checkMetadata refuses user_metadata larger than maxMetadataBytes once encoded.
func checkMetadata(data map[string]any) error {
	encoded, err := json.Marshal(data)
	if err != nil {
		return badRequest(CodeValidationFailed, "user metadata must be a JSON object")
	}
	if len(encoded) > maxMetadataBytes {
		return unprocessable(CodeValidationFailed, "user metadata must not be larger than %d bytes", maxMetadataBytes)
	}
	return nil
}
