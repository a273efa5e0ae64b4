package realtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/realtime/phoenix"
	"github.com/goforward/goforward/internal/security"
)

// cleanupTimeout bounds the work done after a connection ends (presence leaves).
const cleanupTimeout = 5 * time.Second

// serveWebSocket upgrades GET /realtime/v1/websocket and runs the connection until it ends.
// The gateway has already checked the apikey (realtime-js sends it as ?apikey=).
func (s *Service) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	principal, ok := security.PrincipalFrom(r.Context())
	if !ok {
		_ = httpx.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "No API key found in request"})
		return
	}
	vsn := r.URL.Query().Get("vsn")
	switch vsn {
	case "":
		vsn = phoenix.Version1
	case phoenix.Version1, phoenix.Version2:
	default:
		_ = httpx.WriteJSON(w, http.StatusBadRequest, map[string]string{"message": "Unsupported vsn: use 1.0.0 or 2.0.0"})
		return
	}
	if s.stopped.Load() {
		_ = httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "Realtime is shutting down"})
		return
	}
	// The server's read and write timeouts were armed for an ordinary request; a WebSocket
	// lives much longer and sets its own deadlines.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered the client already
	}
	ws.SetReadLimit(s.cfg.MaxMessageBytes)

	key := r.URL.Query().Get("apikey")
	if key == "" {
		key = r.Header.Get("apikey")
	}
	sum := sha256.Sum256([]byte(key))
	id := s.nextConnID.Add(1)
	c := &conn{
		svc:       s,
		id:        id,
		origin:    s.cfg.NodeID + "/" + strconv.FormatUint(id, 10),
		vsn:       vsn,
		ws:        ws,
		principal: principal,
		keyHash:   hex.EncodeToString(sum[:]),
		limiter:   rate.NewLimiter(rate.Limit(s.cfg.MessagesPerSecond), int(2*s.cfg.MessagesPerSecond)+1),
		queue:     newSendQueue(s.cfg.SendQueueSize),
		done:      make(chan struct{}),
		channels:  map[string]*channel{},
	}
	if !s.register(c) {
		_ = ws.Close()
		return
	}
	c.overLimit = !s.limits.acquire(c.keyHash)

	ctx := r.Context()
	written := make(chan struct{})
	go func() {
		defer close(written)
		c.writeLoop(ctx)
	}()
	c.readLoop(ctx)
	c.close(websocket.CloseNormalClosure, "")
	<-written

	cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	c.leaveAll(cleanupCtx)
	if !c.overLimit {
		s.limits.release(c.keyHash)
	}
	s.unregister(c)
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
		msg, err := phoenix.Decode(c.vsn, kind == websocket.BinaryMessage, data)
		if err != nil {
			c.svc.logger.DebugContext(ctx, "realtime: ignoring a malformed message", "conn", c.origin, "error", err)
			continue
		}
		c.handle(ctx, msg)
	}
}

func (c *conn) handle(ctx context.Context, msg phoenix.Message) {
	switch {
	case msg.Topic == phoenix.TopicPhoenix && msg.Event == phoenix.EventHeartbeat:
		c.reply(msg, "ok", nil)
		return
	case msg.Event == phoenix.EventJoin:
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
		c.accessToken(ctx, ch, msg)
	default:
		// Supabase ignores events it does not know.
	}
}

func (c *conn) channel(topic string) *channel {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.channels[topic]
}
