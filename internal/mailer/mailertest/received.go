package mailertest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Received is one message as the server accepted it.
type Received struct {
	// From is the decoded From header ("Go Forward Test" <noreply@example.com>).
	From string
	// To holds the envelope recipients (RCPT TO).
	To []string
	// Subject is the decoded Subject header.
	Subject string
	// Text and HTML are the decoded text/plain and text/html parts ("" when absent).
	Text, HTML string
	// Raw is the message exactly as transmitted.
	Raw []byte

	// Header holds every header of the message, still encoded.
	Header mail.Header
	// EnvelopeFrom is the MAIL FROM address.
	EnvelopeFrom string
	// AuthUser is the user name the client authenticated as.
	AuthUser string
	// TLS reports whether the message travelled over TLS (implicit or after STARTTLS).
	TLS bool
}

func (r Received) sentTo(address string) bool {
	for _, to := range r.To {
		if strings.EqualFold(to, address) {
			return true
		}
	}
	return false
}

// parse decodes a raw message into its headers and first text/plain and text/html parts,
// undoing quoted-printable and base64 transfer encodings.
func parse(raw []byte) (Received, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Received{}, err
	}
	var dec mime.WordDecoder
	from, err := dec.DecodeHeader(msg.Header.Get("From"))
	if err != nil {
		return Received{}, fmt.Errorf("from header: %w", err)
	}
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Received{}, fmt.Errorf("subject header: %w", err)
	}
	r := Received{From: from, Subject: subject, Raw: raw, Header: msg.Header}
	err = r.collect(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return r, err
}

// collect walks one MIME entity, descending into multiparts.
func (r *Received) collect(contentType, transferEncoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		parts := multipart.NewReader(body, params["boundary"])
		for {
			part, err := parts.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mediaType, err)
			}
			if err := r.collect(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part); err != nil {
				return err
			}
		}
	}
	content, err := decode(transferEncoding, body)
	if err != nil {
		return fmt.Errorf("%s: %w", mediaType, err)
	}
	switch {
	case mediaType == "text/plain" && r.Text == "":
		r.Text = content
	case mediaType == "text/html" && r.HTML == "":
		r.HTML = content
	}
	return nil
}

func decode(transferEncoding string, body io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(transferEncoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks itself
	case "", "7bit", "8bit", "binary":
	default:
		return "", fmt.Errorf("unknown transfer encoding %q", transferEncoding)
	}
	b, err := io.ReadAll(body)
	return string(b), err
}
