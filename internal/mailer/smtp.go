package mailer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of SMTPConfig.TLS.
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS and refuses servers without it.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit = "tls"
	// TLSNone sends in clear text: for a loopback relay or a development catcher only.
	TLSNone = "none"
)

const (
	defaultSMTPTimeout = 10 * time.Second
	portSubmission     = 587
	portSubmissions    = 465
)

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	// Host is the server's host name or IP address; required.
	Host string
	// Port is the server's port; 0 means 465 when TLS is "tls" and 587 otherwise.
	Port int
	// User and Password authenticate with SMTP AUTH when User is set; empty User sends
	// without authenticating. Password is a secret: it never appears in logs or errors.
	User, Password string
	// From is the sender, with an optional display name: "Go Forward <noreply@example.com>";
	// required.
	From string
	// TLS is "starttls", "tls" (implicit) or "none". Empty means "tls" when Port is 465 and
	// "starttls" otherwise. "none" refuses to send credentials to anything but loopback.
	TLS string
	// Timeout bounds connecting and each SMTP command; 0 means 10s.
	Timeout time.Duration
	// RootCAs verifies the server's certificate (a relay with a private CA); nil means the
	// system's roots.
	RootCAs *x509.CertPool
}

// LogValue keeps the password out of structured logs.
func (c SMTPConfig) LogValue() slog.Value {
	password := ""
	if c.Password != "" {
		password = "[redacted]"
	}
	return slog.GroupValue(
		slog.String("host", c.Host), slog.Int("port", c.Port), slog.String("user", c.User),
		slog.String("password", password), slog.String("from", c.From), slog.String("tls", c.TLS),
		slog.Duration("timeout", c.Timeout),
	)
}

// SMTP sends each message over its own SMTP connection (go-mail): multipart/alternative with
// a plain-text and an HTML part, Date, Message-ID (in From's domain) and
// Auto-Submitted: auto-generated headers.
type SMTP struct {
	cfg    SMTPConfig
	from   *mail.Address
	logger *slog.Logger
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks cfg, fills in its defaults and returns a sender. It does not connect: a
// server that is down fails the first Send, not the start.
func NewSMTP(cfg SMTPConfig, logger *slog.Logger) (*SMTP, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Host == "" {
		return nil, errors.New("mailer: smtp host is required")
	}
	if cfg.Port == 0 {
		cfg.Port = portSubmission
		if cfg.TLS == TLSImplicit {
			cfg.Port = portSubmissions
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mailer: smtp port %d is out of range", cfg.Port)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
		if cfg.Port == portSubmissions {
			cfg.TLS = TLSImplicit
		}
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if cfg.User != "" && !isLoopback(cfg.Host) {
			return nil, fmt.Errorf("mailer: smtp tls %q with credentials is allowed only for a loopback host, not %q", TLSNone, cfg.Host)
		}
	default:
		return nil, fmt.Errorf("mailer: smtp tls %q is not one of %q, %q, %q", cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultSMTPTimeout
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("mailer: smtp timeout %s is negative", cfg.Timeout)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mailer: smtp from %q: %w", cfg.From, err)
	}
	return &SMTP{cfg: cfg, from: from, logger: logger}, nil
}

// Send delivers m. Cancelling ctx aborts the conversation at once, whatever step it is in.
// Errors name the server and recipient, never the password.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := m.validate()
	if err != nil {
		return err
	}
	msg, err := s.compose(to, m)
	if err != nil {
		return err
	}
	client, watch, err := s.client(ctx)
	if err != nil {
		return err
	}
	err = client.DialAndSendWithContext(ctx, msg)
	watch.stop()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("mailer: send %s to %s: %w", m.label(), to.Address, ctxErr)
		}
		return fmt.Errorf("mailer: send %s to %s via %s: %w", m.label(), to.Address, s.addr(), redact(err, s.cfg.Password))
	}
	s.logger.DebugContext(ctx, "mail sent", "to", to.Address, "kind", m.Kind)
	return nil
}

// compose builds the MIME message.
func (s *SMTP) compose(to *mail.Address, m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(oneLine(m.Subject))
	msg.SetDate()
	id, err := s.messageID()
	if err != nil {
		return nil, err
	}
	msg.SetMessageIDWithValue(id)
	// RFC 3834: tells auto-responders (vacation replies) not to answer.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")

	text := m.Text
	if text == "" {
		text = PlainText(m.HTML)
	}
	msg.SetBodyString(gomail.TypeTextPlain, text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// messageID returns a random Message-ID in the sender's domain, which mail filters prefer to
// one naming this machine.
func (s *SMTP) messageID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mailer: message id: %w", err)
	}
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	return hex.EncodeToString(b) + "@" + domain, nil
}

// client builds a go-mail client for one send. Its dialer ties the connection to ctx:
// go-mail itself honours ctx only while dialing, so watch closes the connection when ctx is
// cancelled later, which fails whatever command is in flight.
func (s *SMTP) client(ctx context.Context) (*gomail.Client, *connWatch, error) {
	tlsConfig := &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12, RootCAs: s.cfg.RootCAs}
	watch := &connWatch{}
	dialer := &net.Dialer{}
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		watch.add(context.AfterFunc(ctx, func() { _ = conn.Close() }))
		if s.cfg.TLS != TLSImplicit {
			return conn, nil
		}
		tlsConn := tls.Client(conn, tlsConfig)
		if err := tlsConn.HandshakeContext(dialCtx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return tlsConn, nil
	}

	policy := gomail.TLSMandatory
	if s.cfg.TLS != TLSStartTLS {
		// Implicit TLS is already encrypted by dial; "none" must not upgrade.
		policy = gomail.NoTLS
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(tlsConfig),
		gomail.WithDialContextFunc(dial),
	}
	if s.cfg.User != "" {
		opts = append(opts,
			gomail.WithUsername(s.cfg.User),
			gomail.WithPassword(s.cfg.Password),
			// Strongest first. PLAIN and LOGIN refuse to run over a connection that is
			// neither TLS nor loopback, so credentials never travel in clear to a remote host.
			gomail.WithOpportunisticSMTPAuth(
				gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5,
				gomail.SMTPAuthPlain, gomail.SMTPAuthLogin,
			),
		)
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("mailer: smtp client for %s: %w", s.addr(), redact(err, s.cfg.Password))
	}
	return client, watch, nil
}

// Config returns the configuration in use, defaults filled in.
func (s *SMTP) Config() SMTPConfig { return s.cfg }

func (s *SMTP) addr() string {
	return net.JoinHostPort(s.cfg.Host, fmt.Sprint(s.cfg.Port))
}

// connWatch holds the context watches of one send's connections, released when it ends.
type connWatch struct {
	stops []func() bool
}

func (w *connWatch) add(stop func() bool) { w.stops = append(w.stops, stop) }

func (w *connWatch) stop() {
	for _, stop := range w.stops {
		stop()
	}
}

// isLoopback reports whether host is one of the loopback names go-mail's PLAIN and LOGIN
// accept without TLS, so that NewSMTP refuses exactly the configurations Send would.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
