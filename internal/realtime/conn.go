package realtime

import (
	"encoding/json"
	"net/netip"
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
	// closeCode, when set, makes the frame a marker: the writer ends the connection with
	// this code and closeText once everything queued before it is written.
	closeCode int
	closeText string
}

// conn is one WebSocket. Its reader goroutine handles the client's messages; a writer
// goroutine, running while there is something to write, drains a bounded queue, so a slow
// client never holds up whoever sends to it.
type conn struct {
	svc       *Service
	id        uint64
	origin    string // "<node>/<id>", this connection's identity on the bus
	vsn       string
	ws        *websocket.Conn
	principal security.Principal // the apikey's (or Bearer token's), for channels joined without a token
	clientIP  netip.Addr         // for the tables' IP allow-lists (tableips.go)
	release   func()             // gives back the connection's places in the per-key and per-address limits
	limiter   *rate.Limiter      // joins, token refreshes, broadcasts and presence messages

	queue     *sendQueue
	done      chan struct{} // closed when the connection starts closing
	ended     chan struct{} // closed when the writer closed the socket
	closeOnce sync.Once
	closeCode int
	closeText string

	mu       sync.Mutex
	channels map[string]*channel
	// presenceBytes is the size of the presence entries the channels track (keys and
	// states), bounded by MaxPresenceBytesPerConnection.
	presenceBytes int64
}

// enqueue queues f for writing. When the queue is full the client is too slow: it is
// disconnected rather than allowed to make others wait or the server buffer without bound.
func (c *conn) enqueue(f *frame) bool {
	queued, startWriter := c.queue.push(f)
	if startWriter {
		go c.writeLoop()
	}
	if queued {
		return true
	}
	if c.closed() {
		return false // closing, not slow
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

// closeAfterQueued ends the connection like close, but only after what is queued (a reply
// saying why) has been written.
func (c *conn) closeAfterQueued(code int, reason string) {
	c.enqueue(&frame{closeCode: code, closeText: reason})
}

// close ends the connection with a close frame carrying code and reason. It only signals:
// the writer sends the close frame and closes the socket, which ends the reader, and the
// reader cleans up; so it is safe to call from anywhere, fan-outs included.
func (c *conn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, reason
		close(c.done)
		if c.queue.close() {
			go c.writeLoop()
		}
	})
}

// writeLoop writes queued frames until the queue is empty, or ends the connection once it is
// closing: the close frame (unless writing already failed), then the socket, which ends the
// reader too, then ended. Started on demand (see sendQueue), it keeps no goroutine waiting
// for an idle connection.
func (c *conn) writeLoop() {
	var (
		batch   []*frame
		closing bool
		failed  bool
	)
	for {
		batch, closing = c.queue.next(batch[:0])
		if closing {
			if !failed {
				c.writeClose()
			}
			_ = c.ws.Close()
			close(c.ended)
			return
		}
		if len(batch) == 0 {
			return
		}
		// A closed connection writes nothing more of its queue; the next turn ends it. A
		// failed write closes it.
		for _, f := range batch {
			if c.closed() {
				break
			}
			if f.closeCode != 0 {
				c.close(f.closeCode, f.closeText)
				break
			}
			failed = !c.write(f)
		}
		clear(batch)
	}
}

// closed reports whether the connection is closing.
func (c *conn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
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
