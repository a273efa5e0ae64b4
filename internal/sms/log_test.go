package sms_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/goforward/goforward/internal/sms"
	"github.com/stretchr/testify/require"
)

func TestLogSenderLogsRecipientAndKindButNeverTheBody(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	sender := sms.NewLogSender(slog.New(slog.NewJSONHandler(&buf, nil)))

	first, err := sender.Send(t.Context(), sms.Message{To: "15551234567", Body: "Your code is 918273", Kind: "otp"})
	require.NoError(t, err)
	second, err := sender.Send(t.Context(), sms.Message{To: "+15551234567", Body: "Your code is 918273", Kind: "otp"})
	require.NoError(t, err)
	require.NotEmpty(t, first)
	require.NotEqual(t, first, second)

	out := buf.String()
	require.Contains(t, out, "+15551234567")
	require.Contains(t, out, `"kind":"otp"`)
	require.Contains(t, out, first)
	require.NotContains(t, out, "918273")

	_, err = sender.Send(t.Context(), sms.Message{To: "555", Body: "x"})
	require.ErrorIs(t, err, sms.ErrInvalidMessage)
}
