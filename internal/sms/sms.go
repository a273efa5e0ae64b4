// Package sms sends the auth service's text messages: a Sender seam with a Twilio-compatible
// HTTP implementation and a development one that only logs, plus phone number normalisation
// as GoTrue accepts numbers.
package sms

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Message is one text message.
type Message struct {
	// To is the recipient in E.164 form ("+15551234567"); see ValidPhone.
	To string
	// Body is the text; it usually carries a one-time code.
	Body string
	// Kind labels the message for logs and the development inbox ("otp", "phone_change", …).
	Kind string
}

// Sender delivers text messages and returns the provider's id for the message.
// Implementations are safe for concurrent use and honour ctx.
type Sender interface {
	Send(ctx context.Context, m Message) (messageID string, err error)
}

// ErrInvalidMessage is wrapped by Send for a message that cannot be sent as given (a
// recipient that is not a phone number, an empty body).
var ErrInvalidMessage = errors.New("sms: invalid message")

// validate checks what every Sender requires and returns the recipient in E.164 form.
func (m Message) validate() (string, error) {
	to, ok := ValidPhone(m.To)
	if !ok {
		return "", fmt.Errorf("%w: %q is not a phone number", ErrInvalidMessage, m.To)
	}
	if strings.TrimSpace(m.Body) == "" {
		return "", fmt.Errorf("%w: empty body", ErrInvalidMessage)
	}
	return to, nil
}
