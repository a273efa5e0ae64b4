package realtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/realtime/phoenix"
	"github.com/goforward/goforward/internal/security"
)

// cleanupTimeout bounds the work done after a connection ends (presence leaves).
const cleanupTimeout = 5 * time.Second

// serveWebSocket upgrades GET /realtime/v1/websocket and starts the connection.
// The gateway has already checked the apikey (realtime-js sends it as ?apikey=).
func (s *Service) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	principal, ok := security.PrincipalFrom(r.Context())
	if !ok {
		_ = httpx.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "No API key found in request"})
		return
	}
	// The version is one of the constants, not the query's value: that is a slice of the
	// request line, which the connection would keep in memory for its whole life.
	var vsn string
	switch r.URL.Query().Get("vsn") {
	case "", phoenix.Version1:
		vsn = phoenix.Version1
	case phoenix.Version2:
		vsn = phoenix.Version2
	default:
		_ = httpx.WriteJSON(w, http.StatusBadRequest, map[string]string{"message": "Unsupported vsn: use 1.0.0 or 2.0.0"})
		return
	}
	if s.stopped.Load() {
		_ = httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "Realtime is shutting down"})
		return
	}
	key := r.URL.Query().Get("apikey")
	if key == "" {
		key = r.Header.Get("apikey")
	}
	sum := sha256.Sum256([]byte(key))
	keyHash := hex.EncodeToString(sum[:])
	address := addressKey(httpx.ClientIP(r.Context()))
	// Sockets beyond a limit are refused before the upgrade, as Supabase refuses them in
	// its socket's connect: a socket that stayed open would hold its slot and memory doing
	// nothing.
	if !s.keyLimits.acquire(keyHash) {
		_ = httpx.WriteJSON(w, http.StatusTooManyRequests, map[string]string{"message": "Too many connected users"})
		return
	}
	if address != "" && !s.ipLimits.acquire(address) {
		s.keyLimits.release(keyHash)
		_ = httpx.WriteJSON(w, http.StatusTooManyRequests, map[string]string{"message": "Too many connections from this address"})
		return
	}
	release := func() {
		s.keyLimits.release(keyHash)
		if address != "" {
			s.ipLimits.release(address)
		}
	}
	// The server's read and write timeouts were armed for an ordinary request; a WebSocket
	// lives much longer and sets its own deadlines.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		release()
		return // the upgrader answered the client already
	}
	ws.SetReadLimit(s.cfg.MaxMessageBytes)

	id := s.nextConnID.Add(1)
	c := &conn{
		svc:       s,
		id:        id,
		origin:    s.cfg.NodeID + "/" + strconv.FormatUint(id, 10),
		vsn:       vsn,
		ws:        ws,
		principal: principal,
		clientIP:  httpx.ClientIP(r.Context()),
		release:   release,
		limiter:   rate.NewLimiter(rate.Limit(s.cfg.MessagesPerSecond), int(2*s.cfg.MessagesPerSecond)+1),
		queue:     newSendQueue(s.cfg.SendQueueSize),
		done:      make(chan struct{}),
		ended:     make(chan struct{}),
		channels:  map[string]*channel{},
	}
	if !s.register(c) {
		release()
		_ = ws.Close()
		return
	}
	// The connection lives on in goroutines of its own and this handler returns: the HTTP
	// server's goroutine would otherwise hold, for the socket's whole life, its connection
	// state with 8 KiB of read and write buffers the WebSocket no longer uses, the request,
	// and a stack grown through every middleware, which was more than half of what an idle
	// connection cost. The request's context goes too (its values reach the same state);
	// only the request ID is kept for logs. Shutdown closes the connection through
	// Service.Run, as it closes every other.
	go c.serve(httpx.WithRequestID(context.Background(), httpx.RequestID(r.Context())))
}

// serve runs the connection until it ends, then forgets it everywhere.
func (c *conn) serve(ctx context.Context) {
	c.readLoop(ctx)
	c.close(websocket.CloseNormalClosure, "")
	<-c.ended

	cleanupCtx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	c.leaveAll(cleanupCtx)
	c.release()
	c.svc.unregister(c)
}

// readLoop handles the client's messages until the connection fails, closes or stays silent
// for longer than the heartbeat timeout.
func (c *conn) readLoop(ctx context.Context) {
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(c.svc.cfg.HeartbeatTimeout))
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				c.close(closeHeartbeat, "heartbeat timeout")
			}
			return
		}
		// Handling a message (decoding JSON, verifying a token, asking the database) needs a
		// stack several times deeper than waiting for the next one, and a goroutine keeps a
		// stack it grew unless it later uses less than a quarter of it: done here, it would
		// leave the reader, idle for most of a connection's life, with the larger stack for
		// good. A goroutine of its own gives it back at once; the reader waits for it, so
		// messages are still handled one at a time, in order.
		var handling sync.WaitGroup
		handling.Go(func() { c.handleFrame(ctx, kind == websocket.BinaryMessage, data) })
		handling.Wait()
	}
}

// handleFrame decodes and handles one message. No HTTP server recovers its goroutine: a
// panic ends this connection, not the process.
func (c *conn) handleFrame(ctx context.Context, binary bool, data []byte) {
	defer func() {
		if v := recover(); v != nil {
			c.svc.logger.ErrorContext(ctx, "realtime: panic handling a message; closing the connection",
				"request_id", httpx.RequestID(ctx), "conn", c.origin, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			c.close(websocket.CloseInternalServerErr, "internal error")
		}
	}()
	msg, err := phoenix.Decode(c.vsn, binary, data)
	if err != nil {
		c.svc.logger.DebugContext(ctx, "realtime: ignoring a malformed message", "conn", c.origin, "error", err)
		return
	}
	c.handle(ctx, msg)
}

func (c *conn) handle(ctx context.Context, msg phoenix.Message) {
	switch {
	case msg.Topic == phoenix.TopicPhoenix && msg.Event == phoenix.EventHeartbeat:
		c.reply(msg, "ok", nil)
		return
	case msg.Event == phoenix.EventJoin:
		// A join costs database work (the token, bindings, policies, presence), so it is
		// counted like a broadcast. Beyond the rate the client is told and disconnected, as
		// Supabase does.
		if !c.limiter.Allow() {
			c.replyError(msg, "ClientJoinRateLimitReached: Too many joins per second")
			c.closeAfterQueued(websocket.ClosePolicyViolation, "Too many joins per second")
			return
		}
		c.join(ctx, msg)
		return
	}
	ch := c.channel(msg.Topic)
	if ch == nil {
		// Phoenix's answer to a push on a topic the socket has not joined.
		c.replyError(msg, "unmatched topic")
		return
	}
	switch msg.Event {
	case phoenix.EventLeave:
		c.leave(ctx, ch, msg)
	case phoenix.EventBroadcast:
		c.broadcast(ctx, ch, msg)
	case phoenix.EventPresence:
		c.presence(ctx, ch, msg)
	case phoenix.EventAccessToken:
		// A refresh verifies a token and, on a private channel, evaluates its policies.
		if c.allow(ctx, ch) {
			c.accessToken(ctx, ch, msg)
		}
	default:
		// Supabase ignores events it does not know.
	}
}

func (c *conn) channel(topic string) *channel {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.channels[topic]
}
