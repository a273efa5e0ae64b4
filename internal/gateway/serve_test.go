package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/security"
)

// blocking is a service whose handlers hold requests open until the test lets them go.
type blocking struct {
	entered  chan struct{}
	release  chan struct{}
	streamed chan error // the context error a stream saw when it ended
}

func newBlocking() *blocking {
	return &blocking{entered: make(chan struct{}, 1), release: make(chan struct{}), streamed: make(chan error, 1)}
}

func (b *blocking) service() gateway.Service {
	return gateway.Service{
		Name:   "slow",
		Prefix: "/slow/v1",
		Open:   []string{"/slow/v1/"},
		Mount: func(mux *http.ServeMux) {
			mux.HandleFunc("GET /slow/v1/wait", func(w http.ResponseWriter, _ *http.Request) {
				b.entered <- struct{}{}
				<-b.release // deliberately ignores the request context
				_, _ = io.WriteString(w, "done")
			})
			mux.HandleFunc("GET /slow/v1/stream", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
				http.NewResponseController(w).Flush()
				b.entered <- struct{}{}
				<-r.Context().Done()
				b.streamed <- r.Context().Err()
			})
		},
	}
}

type served struct {
	addr string
	logs *logBuffer
	done chan error
}

func startServing(t *testing.T, ctx context.Context, shutdownTimeout time.Duration, b *blocking) served {
	t.Helper()
	keys, err := security.NewKeys(testSecret, "", time.Now())
	require.NoError(t, err)
	logs := &logBuffer{}
	g, err := gateway.New(gateway.Config{ShutdownTimeout: shutdownTimeout},
		gateway.Deps{Keys: keys, Logger: slog.New(slog.NewJSONHandler(logs, nil))}, b.service())
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := served{addr: ln.Addr().String(), logs: logs, done: make(chan error, 1)}
	go func() { s.done <- g.Serve(ctx, ln) }()
	return s
}

// fetch sends a request on its own connection and delivers the body or the error.
func fetch(url string) <-chan string {
	out := make(chan string, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(url)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		out <- string(body)
	}()
	return out
}

func refusing(addr string) func() bool {
	return func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return false
		}
		return true
	}
}

// answers reports whether the server at addr answers /health.
func answers(addr string) func() bool {
	return func() bool {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
		resp, err := client.Get("http://" + addr + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

func TestServeFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	b := newBlocking()
	ctx, cancel := context.WithCancel(t.Context())
	s := startServing(t, ctx, 30*time.Second, b)

	// An answer (not just an accepted connection, which the kernel gives before Serve even
	// runs) proves Serve is serving, and Serve logs before it serves.
	require.Eventually(t, answers(s.addr), 10*time.Second, 5*time.Millisecond)
	require.Contains(t, s.logs.String(), "gateway listening")
	require.Contains(t, s.logs.String(), s.addr)

	body := fetch("http://" + s.addr + "/slow/v1/wait")
	<-b.entered
	cancel()
	require.Eventually(t, refusing(s.addr), 10*time.Second, 5*time.Millisecond, "no new connections once shutdown starts")
	close(b.release)

	require.Equal(t, "done", <-body)
	require.NoError(t, <-s.done)
	require.Contains(t, s.logs.String(), "gateway stopped")
}

func TestServeEndsLongLivedStreams(t *testing.T) {
	t.Parallel()
	b := newBlocking()
	ctx, cancel := context.WithCancel(t.Context())
	s := startServing(t, ctx, 2*time.Second, b)
	require.Eventually(t, func() bool { return !refusing(s.addr)() }, 10*time.Second, 5*time.Millisecond)

	fetch("http://" + s.addr + "/slow/v1/stream")
	<-b.entered
	cancel()

	require.NoError(t, <-s.done)
	require.ErrorIs(t, <-b.streamed, context.Canceled)
}

func TestServeGivesUpOnStuckRequests(t *testing.T) {
	t.Parallel()
	b := newBlocking()
	defer close(b.release)
	ctx, cancel := context.WithCancel(t.Context())
	s := startServing(t, ctx, 200*time.Millisecond, b)
	require.Eventually(t, func() bool { return !refusing(s.addr)() }, 10*time.Second, 5*time.Millisecond)

	body := fetch("http://" + s.addr + "/slow/v1/wait")
	<-b.entered
	cancel()

	err := <-s.done
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, <-body, "error", "the stuck connection was closed")
}

func TestServeReportsListenerFailure(t *testing.T) {
	t.Parallel()
	keys, err := security.NewKeys(testSecret, "", time.Now())
	require.NoError(t, err)
	g, err := gateway.New(gateway.Config{}, gateway.Deps{Keys: keys, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())

	require.ErrorIs(t, g.Serve(t.Context(), ln), net.ErrClosed)
}

// acceptWatcher is a listener that reports its first Accept, which Serve's http.Server calls
// as soon as it serves.
type acceptWatcher struct {
	net.Listener
	once     sync.Once
	accepted chan struct{}
}

func (l *acceptWatcher) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.accepted) })
	return l.Listener.Accept()
}

// slowListeningLog holds back the "gateway listening" line, giving a server that serves
// before logging every chance to accept first, and records what had happened by then.
type slowListeningLog struct {
	slog.Handler
	accepted       <-chan struct{}
	acceptedBefore chan bool
}

func (h *slowListeningLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "gateway listening" {
		select {
		case <-h.accepted:
			h.acceptedBefore <- true
		case <-time.After(200 * time.Millisecond): // bounds the wait for what must not happen
			h.acceptedBefore <- false
		}
	}
	return h.Handler.Handle(ctx, r)
}

func TestServeLogsListeningBeforeServing(t *testing.T) {
	t.Parallel()
	keys, err := security.NewKeys(testSecret, "", time.Now())
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	watched := &acceptWatcher{Listener: ln, accepted: make(chan struct{})}
	h := &slowListeningLog{Handler: slog.NewJSONHandler(io.Discard, nil), accepted: watched.accepted, acceptedBefore: make(chan bool, 1)}
	g, err := gateway.New(gateway.Config{}, gateway.Deps{Keys: keys, Logger: slog.New(h)})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, watched) }()
	require.False(t, <-h.acceptedBefore, "the server accepted connections before it logged that it listens")
	require.Eventually(t, answers(ln.Addr().String()), 10*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}
