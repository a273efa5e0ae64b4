package sms_test

import (
	"testing"

	"github.com/goforward/goforward/internal/sms"
	"github.com/stretchr/testify/require"
)

func TestValidPhone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"+1 (555) 123-4567", "+15551234567", true},
		{"15551234567", "+15551234567", true},
		{"+15551234567", "+15551234567", true},
		{"  +44 20 7946 0958 ", "+442079460958", true},
		{"49-30-1234567", "+49301234567", true},
		{"12345678", "+12345678", true},               // 8 digits: the shortest accepted
		{"123456789012345", "+123456789012345", true}, // 15 digits: E.164's longest
		{"1234567", "", false},                        // too short
		{"1234567890123456", "", false},               // too long
		{"+0 555 123 4567", "", false},                // no country code starts with 0
		{"", "", false},
		{"+", "", false},
		{"++15551234567", "", false},
		{"1555123456+7", "", false},
		{"+1.555.123.4567", "", false},
		{"+1 555 CALL NOW", "", false},
		{"tel:+15551234567", "", false},
		{"+1\t5551234567", "", false},
		{"+١٥٥٥١٢٣٤٥٦٧", "", false}, // non-ASCII digits
	} {
		got, ok := sms.ValidPhone(tc.in)
		require.Equal(t, tc.ok, ok, "%q", tc.in)
		require.Equal(t, tc.want, got, "%q", tc.in)
	}
}
