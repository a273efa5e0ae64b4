package mailertest

import (
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

type backend struct {
	server *Server
}

func (b *backend) NewSession(conn *smtp.Conn) (smtp.Session, error) {
	return &session{server: b.server, conn: conn}, nil
}

// session is one SMTP connection: AUTH PLAIN first, then any number of transactions.
type session struct {
	server   *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)

	errBadCredentials = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	errRefused        = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 0, 0}, Message: "Transaction failed"}
)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		userOK := subtle.ConstantTimeCompare([]byte(username), []byte(s.server.user)) == 1
		passwordOK := subtle.ConstantTimeCompare([]byte(password), []byte(s.server.password)) == 1
		if !userOK || !passwordOK {
			return errBadCredentials
		}
		s.authUser = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.server.takeFailure() {
		return errRefused
	}
	s.server.hold(s.to)
	msg, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: fmt.Sprintf("unparsable message: %v", err)}
	}
	msg.EnvelopeFrom = s.from
	msg.To = append([]string(nil), s.to...)
	msg.AuthUser = s.authUser
	_, msg.TLS = s.conn.TLSConnectionState()
	s.server.store(msg)
	return nil
}

func (s *session) Reset() {
	s.from = ""
	s.to = nil
}

func (s *session) Logout() error { return nil }
