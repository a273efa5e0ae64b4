package realtime

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/goforward/goforward/internal/realtime/phoenix"
	"github.com/goforward/goforward/internal/security"
)

// Close codes the server ends a WebSocket with.
const (
	closeSlowConsumer = websocket.CloseTryAgainLater
	closeHeartbeat    = websocket.CloseNormalClosure
)

// frame is one encoded WebSocket message. Frames built for a fan-out are shared by every
// receiving connection and must not be modified.
type frame struct {
	data   []byte
	binary bool
}

// conn is one WebSocket. Its reader goroutine handles the client's messages; its writer
// goroutine drains a bounded queue, so a slow client never holds up whoever sends to it.
type conn struct {
	svc       *Service
	id        uint64
	origin    string // "<node>/<id>", this connection's identity on the bus
	vsn       string
	ws        *websocket.Conn
	principal security.Principal // the apikey's (or Bearer token's), for channels joined without a token
	keyHash   string             // the apikey, hashed, for the per-key connection limit
	overLimit bool               // beyond the per-key limit: every join is refused
	limiter   *rate.Limiter      // broadcast and presence messages

	queue     *sendQueue
	done      chan struct{}
	closeOnce sync.Once
	closeCode int
	closeText string

	mu       sync.Mutex
	channels map[string]*channel
}

// enqueue queues f for writing. When the queue is full the client is too slow: it is
// disconnected rather than allowed to make others wait or the server buffer without bound.
func (c *conn) enqueue(f *frame) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	if c.queue.push(f) {
		return true
	}
	c.svc.metrics.slowDisconnects.Inc()
	c.close(closeSlowConsumer, "slow consumer: too many messages waiting to be sent")
	// The writer is most likely stuck on this client's full socket: end that write now
	// rather than after WriteTimeout.
	_ = c.ws.NetConn().SetWriteDeadline(time.Now())
	return false
}

// push encodes and queues one message for this connection.
func (c *conn) push(m phoenix.Message) {
	c.enqueue(&frame{data: phoenix.Encode(c.vsn, m)})
}

// reply answers the client's message m with a phx_reply.
func (c *conn) reply(m phoenix.Message, status string, response any) {
	var raw json.RawMessage
	if response != nil {
		var err error
		if raw, err = json.Marshal(response); err != nil {
			c.svc.logger.Error("realtime: encode reply", "error", err)
			return
		}
	}
	c.push(phoenix.Message{JoinRef: m.JoinRef, Ref: m.Ref, Topic: m.Topic, Event: phoenix.EventReply, Payload: phoenix.ReplyPayload(status, raw)})
}

// replyError answers m with {"status":"error","response":{"reason":reason}}.
func (c *conn) replyError(m phoenix.Message, reason string) {
	c.reply(m, "error", map[string]string{"reason": reason})
}

// close ends the connection with a close frame carrying code and reason. It only signals:
// the writer sends the close frame and the reader cleans up, so it is safe to call from
// anywhere, fan-outs included.
func (c *conn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, reason
		close(c.done)
	})
}

// writeLoop writes queued frames until the connection closes or ctx (the server's) ends.
// Closing the socket on the way out ends the reader too.
func (c *conn) writeLoop(ctx context.Context) {
	defer c.ws.Close()
	var batch []*frame
	for {
		select {
		case <-c.queue.ready:
			batch = c.queue.drain(batch[:0])
			for _, f := range batch {
				// A closed connection writes nothing more of its queue.
				select {
				case <-c.done:
					c.writeClose()
					return
				default:
				}
				if !c.write(f) {
					return
				}
			}
			clear(batch)
		case <-c.done:
			c.writeClose()
			return
		case <-ctx.Done():
			c.close(websocket.CloseGoingAway, "server shutting down")
		}
	}
}

// write sends one frame; a failure closes the connection.
func (c *conn) write(f *frame) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.svc.cfg.WriteTimeout))
	kind := websocket.TextMessage
	if f.binary {
		kind = websocket.BinaryMessage
	}
	if err := c.ws.WriteMessage(kind, f.data); err != nil {
		c.close(websocket.CloseAbnormalClosure, "write failed")
		return false
	}
	c.svc.metrics.messagesOut.Inc()
	return true
}

// writeClose sends the close frame; closeCode and closeText were set before done closed.
func (c *conn) writeClose() {
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}
