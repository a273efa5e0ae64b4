package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/goforward/goforward/internal/mailer"
	"github.com/goforward/goforward/internal/mailer/mailertest"
	"github.com/stretchr/testify/require"
)

const waitTimeout = 10 * time.Second

func newSMTP(t *testing.T, cfg mailer.SMTPConfig) *mailer.SMTP {
	t.Helper()
	s, err := mailer.NewSMTP(cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return s
}

func TestSMTPDeliversMultipartMailAfterAuthenticating(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	sender := newSMTP(t, server.Config())

	err := sender.Send(t.Context(), mailer.Message{
		To:      "Ann <ann@example.com>",
		Subject: "Confirm Your Signup",
		HTML:    `<p>Hello</p><p><a href="https://app.example.com/verify?token=abc&amp;type=signup">Confirm</a></p><p>Code: <b>123456</b></p>`,
		Kind:    mailer.KindConfirmation,
	})
	require.NoError(t, err)

	got := server.WaitFor(t, "ann@example.com", waitTimeout)
	require.Equal(t, "Confirm Your Signup", got.Subject)
	require.Contains(t, got.From, "Go Forward Test")
	require.Contains(t, got.From, "<noreply@example.com>")
	require.Equal(t, "noreply@example.com", got.EnvelopeFrom)
	require.Equal(t, []string{"ann@example.com"}, got.To)
	require.Equal(t, server.Config().User, got.AuthUser, "the sender must authenticate")
	require.Contains(t, got.Header.Get("Content-Type"), "multipart/alternative")
	require.Contains(t, got.HTML, `href="https://app.example.com/verify?token=abc&amp;type=signup"`)
	require.Contains(t, got.Text, "Confirm <https://app.example.com/verify?token=abc&type=signup>")
	require.Contains(t, got.Text, "Code: 123456")
	require.NotContains(t, got.Text, "<p>")
	require.True(t, strings.HasSuffix(got.Header.Get("Message-Id"), "@example.com>"), got.Header.Get("Message-Id"))
	require.Equal(t, "auto-generated", got.Header.Get("Auto-Submitted"))
	_, err = got.Header.Date()
	require.NoError(t, err)
}

func TestSMTPKeepsAGivenTextPartAndNonASCII(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	sender := newSMTP(t, server.Config())

	require.NoError(t, sender.Send(t.Context(), mailer.Message{
		To:      "jörg@example.com",
		Subject: "Bestätigen Sie Ihre Anmeldung – ✓",
		HTML:    "<p>Grüße, 日本</p>",
		Text:    "Grüße (Text), 日本",
	}))

	got := server.WaitFor(t, "jörg@example.com", waitTimeout)
	require.Equal(t, "Bestätigen Sie Ihre Anmeldung – ✓", got.Subject)
	require.Equal(t, "Grüße (Text), 日本", strings.TrimSpace(got.Text))
	require.Contains(t, got.HTML, "<p>Grüße, 日本</p>")
}

func TestSMTPSendsTextOnlyMail(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	sender := newSMTP(t, server.Config())

	require.NoError(t, sender.Send(t.Context(), mailer.Message{To: "ann@example.com", Subject: "Code", Text: "Your code is 654321"}))

	got := server.WaitFor(t, "ann@example.com", waitTimeout)
	require.Equal(t, "Your code is 654321", strings.TrimSpace(got.Text))
	require.Empty(t, got.HTML)
}

func TestSMTPSubjectCannotInjectHeaders(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	sender := newSMTP(t, server.Config())

	require.NoError(t, sender.Send(t.Context(), mailer.Message{
		To: "ann@example.com", Subject: "Hi\r\nBcc: mallory@example.com", Text: "x",
	}))

	got := server.WaitFor(t, "ann@example.com", waitTimeout)
	require.Equal(t, "Hi Bcc: mallory@example.com", got.Subject)
	require.Empty(t, got.Header.Get("Bcc"))
	require.Equal(t, []string{"ann@example.com"}, got.To)
}

func TestSMTPOverTLS(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{mailer.TLSImplicit, mailer.TLSStartTLS} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			server := mailertest.NewTLSServer(t, mode)
			sender := newSMTP(t, server.Config())

			require.NoError(t, sender.Send(t.Context(), mailer.Message{To: "ann@example.com", Subject: "s", Text: "x"}))

			got := server.WaitFor(t, "ann@example.com", waitTimeout)
			require.True(t, got.TLS)
			require.Equal(t, server.Config().User, got.AuthUser)
		})
	}
}

func TestSMTPRefusesUntrustedCertificate(t *testing.T) {
	t.Parallel()
	server := mailertest.NewTLSServer(t, mailer.TLSImplicit)
	cfg := server.Config()
	cfg.RootCAs = nil // the system roots do not know the test certificate
	sender := newSMTP(t, cfg)

	err := sender.Send(t.Context(), mailer.Message{To: "ann@example.com", Subject: "s", Text: "x"})
	require.ErrorContains(t, err, "certificate")
	require.Empty(t, server.Messages())
}

func TestSMTPStartTLSIsMandatory(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t) // offers no STARTTLS
	cfg := server.Config()
	cfg.TLS = mailer.TLSStartTLS
	sender := newSMTP(t, cfg)

	err := sender.Send(t.Context(), mailer.Message{To: "ann@example.com", Subject: "s", Text: "x"})
	require.ErrorContains(t, err, "STARTTLS")
	require.NotContains(t, err.Error(), cfg.Password)
	require.Empty(t, server.Messages())
}

func TestSMTPWrongPasswordFailsWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	cfg := server.Config()
	cfg.Password = "wrong-" + cfg.Password
	sender := newSMTP(t, cfg)

	err := sender.Send(t.Context(), mailer.Message{To: "ann@example.com", Subject: "s", Text: "x"})
	require.ErrorContains(t, err, "535")
	require.NotContains(t, err.Error(), cfg.Password)
	require.Empty(t, server.Messages())
}

func TestSMTPServerRefusalIsAnError(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	cfg := server.Config()
	sender := newSMTP(t, cfg)
	server.FailNext(1)

	err := sender.Send(t.Context(), mailer.Message{To: "ann@example.com", Subject: "first", Text: "x", Kind: mailer.KindRecovery})
	require.ErrorContains(t, err, "554")
	require.ErrorContains(t, err, "recovery")
	require.ErrorContains(t, err, "ann@example.com")
	require.NotContains(t, err.Error(), cfg.Password)

	require.NoError(t, sender.Send(t.Context(), mailer.Message{To: "ann@example.com", Subject: "second", Text: "x"}))
	require.Equal(t, "second", server.WaitFor(t, "ann@example.com", waitTimeout).Subject)
	require.Len(t, server.Messages(), 1)
}

func TestSMTPCancelAbortsAStalledSend(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	cfg := server.Config()
	cfg.Timeout = 10 * time.Minute // only the context can end the send in time
	sender := newSMTP(t, cfg)
	arrived, release := server.Stall()
	defer release()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- sender.Send(ctx, mailer.Message{To: "ann@example.com", Subject: "s", Text: "x"})
	}()
	require.Equal(t, "ann@example.com", <-arrived)
	cancel()

	err := <-done
	require.ErrorIs(t, err, context.Canceled)
}

func TestSMTPCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	sender := newSMTP(t, server.Config())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	err := sender.Send(ctx, mailer.Message{To: "ann@example.com", Subject: "s", Text: "x"})
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, server.Messages())
}

func TestSMTPUnreachableServer(t *testing.T) {
	t.Parallel()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := listener.Addr().(*net.TCPAddr).Port
	require.NoError(t, listener.Close())
	sender := newSMTP(t, mailer.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: mailer.TLSNone, From: "a@example.com"})

	err = sender.Send(t.Context(), mailer.Message{To: "ann@example.com", Subject: "s", Text: "x"})
	require.ErrorContains(t, err, "connection refused")
}

func TestSMTPRejectsInvalidMessagesBeforeConnecting(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	sender := newSMTP(t, server.Config())

	for name, m := range map[string]mailer.Message{
		"no recipient":     {Subject: "s", Text: "x"},
		"two recipients":   {To: "a@example.com, b@example.com", Subject: "s", Text: "x"},
		"not an address":   {To: "ann", Subject: "s", Text: "x"},
		"header injection": {To: "ann@example.com\r\nBcc: b@example.com", Subject: "s", Text: "x"},
		"empty body":       {To: "ann@example.com", Subject: "s"},
	} {
		err := sender.Send(t.Context(), m)
		require.ErrorIs(t, err, mailer.ErrInvalidMessage, name)
	}
	require.Empty(t, server.Messages())
}

func TestNewSMTPDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		in       mailer.SMTPConfig
		wantPort int
		wantTLS  string
	}{
		{"nothing given", mailer.SMTPConfig{}, 587, mailer.TLSStartTLS},
		{"port 465", mailer.SMTPConfig{Port: 465}, 465, mailer.TLSImplicit},
		{"port 587", mailer.SMTPConfig{Port: 587}, 587, mailer.TLSStartTLS},
		{"implicit TLS", mailer.SMTPConfig{TLS: mailer.TLSImplicit}, 465, mailer.TLSImplicit},
		{"port 25 none", mailer.SMTPConfig{Port: 25, TLS: mailer.TLSNone}, 25, mailer.TLSNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.in
			cfg.Host, cfg.From = "smtp.example.com", "noreply@example.com"
			s, err := mailer.NewSMTP(cfg, nil)
			require.NoError(t, err)
			got := s.Config()
			require.Equal(t, tc.wantPort, got.Port)
			require.Equal(t, tc.wantTLS, got.TLS)
			require.Equal(t, 10*time.Second, got.Timeout)
		})
	}
}

func TestNewSMTPRejectsBadConfig(t *testing.T) {
	t.Parallel()
	valid := mailer.SMTPConfig{Host: "smtp.example.com", From: "Go Forward <noreply@example.com>", User: "u", Password: "p"}
	for _, tc := range []struct {
		name   string
		mutate func(*mailer.SMTPConfig)
		want   string
	}{
		{"no host", func(c *mailer.SMTPConfig) { c.Host = "" }, "host is required"},
		{"bad port", func(c *mailer.SMTPConfig) { c.Port = 70000 }, "out of range"},
		{"unknown TLS mode", func(c *mailer.SMTPConfig) { c.TLS = "ssl" }, `tls "ssl"`},
		{"credentials in clear to a remote host", func(c *mailer.SMTPConfig) { c.TLS = mailer.TLSNone }, "loopback"},
		{"no from", func(c *mailer.SMTPConfig) { c.From = "" }, "from"},
		{"bad from", func(c *mailer.SMTPConfig) { c.From = "Go Forward" }, "from"},
		{"negative timeout", func(c *mailer.SMTPConfig) { c.Timeout = -time.Second }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.mutate(&cfg)
			_, err := mailer.NewSMTP(cfg, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}

	t.Run("clear text is fine without credentials or on loopback", func(t *testing.T) {
		t.Parallel()
		_, err := mailer.NewSMTP(mailer.SMTPConfig{Host: "mailpit", TLS: mailer.TLSNone, From: "a@example.com"}, nil)
		require.NoError(t, err)
		_, err = mailer.NewSMTP(mailer.SMTPConfig{Host: "localhost", TLS: mailer.TLSNone, From: "a@example.com", User: "u", Password: "p"}, nil)
		require.NoError(t, err)
	})
}

func TestSMTPConfigLogValueHidesThePassword(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("smtp", "config", mailer.SMTPConfig{Host: "smtp.example.com", User: "u", Password: "hunter2-secret"})
	require.NotContains(t, buf.String(), "hunter2-secret")
	require.Contains(t, buf.String(), "smtp.example.com")
	require.Contains(t, buf.String(), "[redacted]")
}

func TestLogSenderLogsEnvelopeButNeverTheBody(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	sender := mailer.NewLogSender(slog.New(slog.NewJSONHandler(&buf, nil)))

	err := sender.Send(t.Context(), mailer.Message{
		To: "ann@example.com", Subject: "Your Magic Link", Kind: mailer.KindMagicLink,
		HTML: `<a href="https://app.example.com/verify?token=secret-token-html">x</a>`, Text: "code 918273",
	})
	require.NoError(t, err)
	out := buf.String()
	require.Contains(t, out, "ann@example.com")
	require.Contains(t, out, "Your Magic Link")
	require.Contains(t, out, mailer.KindMagicLink)
	require.NotContains(t, out, "secret-token-html")
	require.NotContains(t, out, "918273")

	err = sender.Send(t.Context(), mailer.Message{To: "not an address", Text: "x"})
	require.True(t, errors.Is(err, mailer.ErrInvalidMessage))
}
