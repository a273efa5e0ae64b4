package sms

import "strings"

// E.164 allows at most 15 digits; fewer than 8 is no reachable mobile number anywhere.
const (
	minPhoneDigits = 8
	maxPhoneDigits = 15
)

// ValidPhone normalises a phone number the way GoTrue accepts them, with or without a leading
// "+", with spaces, dashes and parentheses ignored: "+1 (555) 123-4567" and "15551234567" both
// give "+15551234567". The rest must be 8–15 ASCII digits, the first not 0 (country codes
// never start with 0). ok is false for anything else.
func ValidPhone(s string) (e164 string, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "+")
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	if len(digits) < minPhoneDigits || len(digits) > maxPhoneDigits || digits[0] == '0' {
		return "", false
	}
	return "+" + string(digits), true
}
