package mailer

import "strings"

// redactedError hides a secret that a lower layer might have echoed (a server repeating a
// rejected AUTH line, say) while keeping the error chain for errors.Is and errors.As.
type redactedError struct {
	err    error
	secret string
}

// redact wraps err so that its message never contains secret.
func redact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{err: err, secret: secret}
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.secret, "[redacted]")
}

func (e *redactedError) Unwrap() error { return e.err }
