package mailertest_test

import (
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goforward/goforward/internal/mailer/mailertest"
	"github.com/stretchr/testify/require"
)

const waitTimeout = 10 * time.Second

// sendRaw delivers a hand-written message with the standard library's client, so that the
// server is checked against something other than the sender it exists to test.
func sendRaw(t *testing.T, server *mailertest.Server, password string, to []string, raw string) error {
	t.Helper()
	cfg := server.Config()
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	var auth smtp.Auth
	if password != "" {
		auth = smtp.PlainAuth("", cfg.User, password, cfg.Host)
	}
	return smtp.SendMail(addr, auth, "sender@example.com", to, []byte(strings.ReplaceAll(raw, "\n", "\r\n")))
}

const multipartRaw = `From: =?UTF-8?q?J=C3=B6rg?= <joerg@example.com>
To: ann@example.com
Subject: =?UTF-8?b?R3LDvMOfZQ==?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe, a long line that is soft-wrapped by quoted-printable enco=
ding.
--inner
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: base64

PHA+R3LDvMOfZTwv
cD4=
--inner--
--outer--
`

func TestServerDecodesMIME(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	require.NoError(t, sendRaw(t, server, server.Config().Password, []string{"ann@example.com"}, multipartRaw))

	got := server.WaitFor(t, "ANN@example.com", waitTimeout)
	require.Equal(t, "Jörg <joerg@example.com>", got.From)
	require.Equal(t, "Grüße", got.Subject)
	require.Equal(t, "Grüße, a long line that is soft-wrapped by quoted-printable encoding.", got.Text)
	require.Equal(t, "<p>Grüße</p>", got.HTML)
	require.Equal(t, "sender@example.com", got.EnvelopeFrom)
	require.Equal(t, server.Config().User, got.AuthUser)
	require.False(t, got.TLS)
	require.Contains(t, string(got.Raw), "Content-Transfer-Encoding: base64")
}

func TestServerRequiresAuthentication(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)

	err := sendRaw(t, server, "", []string{"ann@example.com"}, "Subject: x\n\nbody\n")
	require.ErrorContains(t, err, "authenticate")
	err = sendRaw(t, server, "wrong", []string{"ann@example.com"}, "Subject: x\n\nbody\n")
	require.ErrorContains(t, err, "535")
	require.Empty(t, server.Messages())
}

func TestServerFailNextRefusesThatManyMessages(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	password := server.Config().Password
	server.FailNext(2)

	for i := range 3 {
		err := sendRaw(t, server, password, []string{"ann@example.com"}, fmt.Sprintf("Subject: %d\n\nbody\n", i))
		if i < 2 {
			require.ErrorContains(t, err, "554")
		} else {
			require.NoError(t, err)
		}
	}
	messages := server.Messages()
	require.Len(t, messages, 1)
	require.Equal(t, "2", messages[0].Subject)
}

func TestWaitForReturnsEachMessageToAnAddressOnce(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	password := server.Config().Password
	require.NoError(t, sendRaw(t, server, password, []string{"ann@example.com"}, "Subject: first\n\nx\n"))
	require.NoError(t, sendRaw(t, server, password, []string{"bob@example.com"}, "Subject: other\n\nx\n"))

	require.Equal(t, "first", server.WaitFor(t, "ann@example.com", waitTimeout).Subject)

	// The next one arrives while WaitFor is already waiting.
	sent := make(chan error, 1)
	go func() {
		sent <- sendRaw(t, server, password, []string{"ann@example.com"}, "Subject: second\n\nx\n")
	}()
	require.Equal(t, "second", server.WaitFor(t, "ann@example.com", waitTimeout).Subject)
	require.NoError(t, <-sent)
	require.Equal(t, "other", server.WaitFor(t, "bob@example.com", waitTimeout).Subject)
	require.Len(t, server.Messages(), 3)
}

// recordingTB captures a fatal failure instead of ending the test.
type recordingTB struct {
	testing.TB
	mu    sync.Mutex
	fatal string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fatal = fmt.Sprintf(format, args...)
}

func TestWaitForFailsTheTestWhenNothingArrives(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	require.NoError(t, sendRaw(t, server, server.Config().Password, []string{"bob@example.com"}, "Subject: x\n\nx\n"))

	tb := &recordingTB{TB: t}
	got := server.WaitFor(tb, "ann@example.com", 10*time.Millisecond)
	require.Empty(t, got.Subject)
	require.Contains(t, tb.fatal, "no new message to ann@example.com")
}

func TestStallHoldsTheReplyUntilReleased(t *testing.T) {
	t.Parallel()
	server := mailertest.NewServer(t)
	arrived, release := server.Stall()

	sent := make(chan error, 1)
	go func() {
		sent <- sendRaw(t, server, server.Config().Password, []string{"ann@example.com"}, "Subject: held\n\nx\n")
	}()
	require.Equal(t, "ann@example.com", <-arrived)
	require.Empty(t, server.Messages())
	release()

	require.NoError(t, <-sent)
	require.Equal(t, "held", server.WaitFor(t, "ann@example.com", waitTimeout).Subject)
}
