// Package mailer sends the auth service's e-mail: a Sender seam with an SMTP implementation
// (go-mail) and a development one that only logs, plus GoTrue-compatible templates so that
// Supabase's documentation and users' existing e-mail templates apply unchanged.
package mailer

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// The kinds of mail the auth service sends, named as GoTrue names its templates. Message.Kind
// may also hold other values: it labels a message for logs and the development inbox.
const (
	KindConfirmation     = "confirmation"
	KindRecovery         = "recovery"
	KindMagicLink        = "magic_link"
	KindInvite           = "invite"
	KindEmailChange      = "email_change"
	KindReauthentication = "reauthentication"
)

// Kinds lists the template kinds in a fixed order.
func Kinds() []string {
	return []string{KindConfirmation, KindRecovery, KindMagicLink, KindInvite, KindEmailChange, KindReauthentication}
}

// Message is one e-mail to one recipient. HTML and Text are alternatives of the same content;
// the SMTP sender derives Text from HTML when Text is empty.
type Message struct {
	// To is one address, with or without a display name ("Ann <ann@example.com>").
	To string
	// Subject is a single line; line breaks are replaced by spaces when sending.
	Subject string
	// HTML is the HTML body; it may be empty for a text-only mail.
	HTML string
	// Text is the plain-text alternative.
	Text string
	// Kind labels the message for logs and the development inbox (see the Kind constants).
	Kind string
}

// Sender delivers messages. Implementations are safe for concurrent use and honour ctx:
// a cancelled context aborts a send in progress.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage is wrapped by Send when a message cannot be sent as given (no or several
// recipients, a malformed address, no body).
var ErrInvalidMessage = errors.New("mailer: invalid message")

// validate checks what every Sender requires of a message and returns the parsed recipient.
func (m Message) validate() (*mail.Address, error) {
	if strings.ContainsAny(m.To, "\r\n") {
		return nil, fmt.Errorf("%w: recipient contains a line break", ErrInvalidMessage)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %v", ErrInvalidMessage, m.To, err)
	}
	if m.HTML == "" && m.Text == "" {
		return nil, fmt.Errorf("%w: empty body", ErrInvalidMessage)
	}
	return to, nil
}

// label names the message in errors: "recovery mail", or "mail" without a kind.
func (m Message) label() string {
	if m.Kind == "" {
		return "mail"
	}
	return m.Kind + " mail"
}

// oneLine turns a subject into a single header line, so that user data rendered into a
// subject template cannot inject headers.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
