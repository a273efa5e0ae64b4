// Package mailertest runs a real SMTP server on loopback for tests: it enforces AUTH PLAIN,
// keeps every message it accepts (parsed into its text and HTML parts), and can be told to
// refuse or to stall, so that callers exercise their real SMTP path end to end.
package mailertest

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/goforward/goforward/internal/mailer"
)

// Server is an SMTP server on 127.0.0.1 that records what it receives. It is safe for
// concurrent use; it closes when the test that made it ends.
type Server struct {
	addr     *net.TCPAddr
	user     string
	password string
	tlsMode  string         // mailer.TLSNone, TLSStartTLS or TLSImplicit
	roots    *x509.CertPool // trusts the server's certificate; nil without TLS

	mu       sync.Mutex
	messages []Received
	claimed  map[string]int // per recipient: how many of its messages WaitFor has returned
	arrived  chan struct{}  // closed and replaced whenever a message is stored
	failNext int
	stall    chan struct{} // non-nil while Stall is in effect; closed by its release
	stalled  chan string   // receives the recipients of each stalled message
	closed   chan struct{}
}

// NewServer starts a plain-text server on a random loopback port that accepts mail only after
// AUTH PLAIN with the credentials in Config. It is shut down in t.Cleanup.
func NewServer(t testing.TB) *Server {
	t.Helper()
	return newServer(t, mailer.TLSNone)
}

// NewTLSServer is NewServer speaking TLS with a self-signed certificate for 127.0.0.1: mode
// mailer.TLSImplicit from the first byte, mailer.TLSStartTLS after STARTTLS. Config trusts
// the certificate through RootCAs.
func NewTLSServer(t testing.TB, mode string) *Server {
	t.Helper()
	if mode != mailer.TLSImplicit && mode != mailer.TLSStartTLS {
		t.Fatalf("mailertest: TLS mode %q is not %q or %q", mode, mailer.TLSImplicit, mailer.TLSStartTLS)
	}
	return newServer(t, mode)
}

func newServer(t testing.TB, tlsMode string) *Server {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailertest: listen: %v", err)
	}
	s := &Server{
		addr:     listener.Addr().(*net.TCPAddr),
		user:     "mailertest",
		password: randomPassword(t),
		tlsMode:  tlsMode,
		claimed:  make(map[string]int),
		arrived:  make(chan struct{}),
		closed:   make(chan struct{}),
	}
	srv := smtp.NewServer(&backend{server: s})
	if tlsMode != mailer.TLSNone {
		cert, roots := selfSigned(t)
		s.roots = roots
		tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if tlsMode == mailer.TLSImplicit {
			listener = tls.NewListener(listener, tlsConfig)
		} else {
			srv.TLSConfig = tlsConfig
		}
	}
	srv.Domain = "localhost"
	// The listener is loopback only; PLAIN without TLS is what lets the client's AUTH be
	// exercised without certificates.
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	t.Cleanup(func() {
		close(s.closed) // releases stalled sessions
		_ = srv.Close()
		// Serve registers the listener with srv only once it runs, which may be after Close.
		_ = listener.Close()
		if err := <-served; err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("mailertest: serve: %v", err)
		}
	})
	return s
}

func randomPassword(t testing.TB) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("mailertest: password: %v", err)
	}
	return "pw-" + hex.EncodeToString(b)
}

// Config returns a sender configuration for this server: its TLS mode ("none" for NewServer)
// and certificate, its credentials, a fixed From of "Go Forward Test <noreply@example.com>"
// and a 10s timeout.
func (s *Server) Config() mailer.SMTPConfig {
	return mailer.SMTPConfig{
		Host:     s.addr.IP.String(),
		Port:     s.addr.Port,
		User:     s.user,
		Password: s.password,
		From:     "Go Forward Test <noreply@example.com>",
		TLS:      s.tlsMode,
		Timeout:  10 * time.Second,
		RootCAs:  s.roots,
	}
}

// Messages returns every message accepted so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// WaitFor returns the oldest message to the address to (case-insensitive) that no earlier
// WaitFor returned, waiting up to timeout for it to arrive; it fails the test on timeout.
func (s *Server) WaitFor(t testing.TB, to string, timeout time.Duration) Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	key := strings.ToLower(to)
	for {
		s.mu.Lock()
		seen := 0
		for _, m := range s.messages {
			if !m.sentTo(to) {
				continue
			}
			if seen == s.claimed[key] {
				s.claimed[key]++
				s.mu.Unlock()
				return m
			}
			seen++
		}
		arrived := s.arrived
		s.mu.Unlock()

		select {
		case <-arrived:
		case <-deadline.C:
			t.Fatalf("mailertest: no new message to %s within %s (%d messages in all)", to, timeout, len(s.Messages()))
			return Received{}
		}
	}
}

// FailNext makes the server refuse the next n messages with "554 5.0.0 Transaction failed"
// after receiving their content. Refused messages are not recorded.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Stall makes the server hold its reply to every following message until release is called
// (or the test ends), as a hung server would. Each held message's first recipient is sent on
// arrived (buffered for 16), so a test knows the client is waiting. Released messages are
// recorded as usual.
func (s *Server) Stall() (arrived <-chan string, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stall := make(chan struct{})
	stalled := make(chan string, 16)
	s.stall, s.stalled = stall, stalled
	var once sync.Once
	return stalled, func() {
		once.Do(func() {
			s.mu.Lock()
			s.stall, s.stalled = nil, nil
			s.mu.Unlock()
			close(stall)
		})
	}
}

// store records a delivered message and wakes WaitFor.
func (s *Server) store(m Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// takeFailure reports whether the current message must be refused, counting it down.
func (s *Server) takeFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext <= 0 {
		return false
	}
	s.failNext--
	return true
}

// hold blocks while Stall is in effect, announcing the message first.
func (s *Server) hold(to []string) {
	s.mu.Lock()
	stall, stalled := s.stall, s.stalled
	s.mu.Unlock()
	if stall == nil {
		return
	}
	first := ""
	if len(to) > 0 {
		first = to[0]
	}
	select {
	case stalled <- first:
	default:
	}
	select {
	case <-stall:
	case <-s.closed:
	}
}
