package realtimebench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// message is a Phoenix message in the 1.0.0 (JSON object) serializer realtime-js v1 used.
type message struct {
	Topic   string          `json:"topic"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
	Ref     *string         `json:"ref"`
	JoinRef *string         `json:"join_ref,omitempty"`
}

// handler sees every message that is not a reply, with the time it was read.
type handler func(received time.Time, m message)

// client is one WebSocket to /realtime/v1/websocket. Replies to its pushes go to waiting
// callers; everything else goes to its handler from the read goroutine.
type client struct {
	ws *websocket.Conn

	writeMu sync.Mutex
	mu      sync.Mutex
	nextRef int
	waiting map[string]chan message
	done    chan struct{}
	err     error
}

// dial opens a WebSocket with apikey. The handler runs on the read goroutine: it must be quick.
func dial(ctx context.Context, baseURL, apikey string, h handler) (*client, error) {
	u := strings.Replace(baseURL, "http://", "ws://", 1) + "/realtime/v1/websocket?" +
		url.Values{"apikey": {apikey}, "vsn": {"1.0.0"}}.Encode()
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 2048, WriteBufferSize: 1024}
	ws, resp, err := dialer.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial realtime: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial realtime: %w", err)
	}
	c := &client{ws: ws, waiting: map[string]chan message{}, done: make(chan struct{})}
	go c.read(h)
	return c, nil
}

func (c *client) read(h handler) {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		now := time.Now()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		if m.Event == "phx_reply" && m.Ref != nil {
			c.mu.Lock()
			ch := c.waiting[*m.Ref]
			delete(c.waiting, *m.Ref)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
				continue
			}
		}
		if h != nil {
			h(now, m)
		}
	}
}

// push sends event on topic and returns a channel that receives its reply.
func (c *client) push(topic, event, joinRef string, payload any) (string, <-chan message, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", nil, err
	}
	c.mu.Lock()
	c.nextRef++
	ref := strconv.Itoa(c.nextRef)
	reply := make(chan message, 1)
	c.waiting[ref] = reply
	c.mu.Unlock()
	if event == "phx_join" {
		joinRef = ref
	}
	m := message{Topic: topic, Event: event, Payload: raw, Ref: &ref}
	if joinRef != "" {
		m.JoinRef = &joinRef
	}
	frame, err := json.Marshal(m)
	if err != nil {
		return "", nil, err
	}
	c.writeMu.Lock()
	err = c.ws.WriteMessage(websocket.TextMessage, frame)
	c.writeMu.Unlock()
	return ref, reply, err
}

// send pushes without waiting for a reply (broadcasts without ack get none).
func (c *client) send(topic, event, joinRef string, payload any) error {
	ref, _, err := c.push(topic, event, joinRef, payload)
	c.mu.Lock()
	delete(c.waiting, ref)
	c.mu.Unlock()
	return err
}

// join joins topic with a realtime-js channel config and waits for an ok reply. It returns
// the join ref, which later pushes on the channel carry.
func (c *client) join(ctx context.Context, topic string, config map[string]any, accessToken string) (string, error) {
	payload := map[string]any{"config": config}
	if accessToken != "" {
		payload["access_token"] = accessToken
	}
	ref, reply, err := c.push(topic, "phx_join", "", payload)
	if err != nil {
		return "", err
	}
	select {
	case m := <-reply:
		var r struct {
			Status   string          `json:"status"`
			Response json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(m.Payload, &r); err != nil {
			return "", err
		}
		if r.Status != "ok" {
			return "", fmt.Errorf("join %s: %s %s", topic, r.Status, r.Response)
		}
		return ref, nil
	case <-c.done:
		return "", fmt.Errorf("join %s: connection closed: %w", topic, c.closeErr())
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *client) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return errors.New("closed")
	}
	return c.err
}

// alive reports whether the server still holds the connection open.
func (c *client) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func (c *client) close() {
	c.ws.Close()
	<-c.done
}

// closeAll closes clients concurrently: each close waits for its read goroutine.
func closeAll(clients []*client) {
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(c.close)
	}
	wg.Wait()
}
