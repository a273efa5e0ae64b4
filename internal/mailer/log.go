package mailer

import (
	"context"
	"log/slog"
)

// LogSender is the development Sender: it logs the recipient, subject and kind of every
// message and reports success. It never logs a body, because bodies carry sign-in links and
// one-time codes.
type LogSender struct {
	logger *slog.Logger
}

var _ Sender = (*LogSender)(nil)

// NewLogSender returns a LogSender writing to logger (nil: slog.Default()).
func NewLogSender(logger *slog.Logger) *LogSender {
	if logger == nil {
		logger = slog.Default()
	}
	return &LogSender{logger: logger}
}

// Send logs m without its body. It fails only for a message no real Sender could send, so
// that development catches the same mistakes production would.
func (s *LogSender) Send(ctx context.Context, m Message) error {
	if _, err := m.validate(); err != nil {
		return err
	}
	s.logger.InfoContext(ctx, "mail not sent (log mailer)", "to", m.To, "subject", oneLine(m.Subject), "kind", m.Kind)
	return nil
}
