package realtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/realtime/phoenix"
	"github.com/goforward/goforward/internal/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// slots bounds how many replication slots this package holds at once: the shared test
// cluster allows ten, and other packages need some.
var slots = make(chan struct{}, 3)

// waitTimeout bounds every wait for a message; it is generous for loaded CI machines.
const waitTimeout = 20 * time.Second

// options tune a test service.
type options struct {
	cfg     realtime.Config
	changes bool   // read the replication stream (takes one of the package's slots)
	redis   string // Redis URL: the node joins a cluster
	env     *servicetest.Env
	// tableIPs, when set, gives the service its table IP allow-lists.
	tableIPs func(env *servicetest.Env) realtime.TableIPs
	apiKeys  bool // the gateway accepts opaque API keys
	// signingKeys tells the service when the signing-key ring changed.
	signingKeys realtime.RingWatcher
}

// node is one realtime service behind the real gateway. Nodes started with options.env share
// that environment's database and keys, as the nodes of one deployment do.
type node struct {
	env     *servicetest.Env
	url     string
	svc     *realtime.Service
	slot    string
	stop    func()
	metrics *prometheus.Registry
}

func startNode(t *testing.T, opts options) *node {
	t.Helper()
	n := &node{metrics: prometheus.NewRegistry()}
	// Nodes of one database share its slot; the first one holds the allowance and drops it.
	ownsSlot := opts.changes && opts.env == nil
	if ownsSlot {
		slots <- struct{}{}
		t.Cleanup(func() { <-slots })
	}
	mount := func(env *servicetest.Env, runner *db.RoleRunner, owner *pgxpool.Pool) []gateway.Service {
		cfg := opts.cfg
		cfg.PostgresChanges.Disabled = !opts.changes
		if cfg.PostgresChanges.Replication.RetryInterval == 0 {
			cfg.PostgresChanges.Replication.RetryInterval = 50 * time.Millisecond
		}
		deps := realtime.Deps{Keys: env.Keys, Runner: runner, Owner: owner, Logger: env.Logger, Metrics: n.metrics}
		if opts.tableIPs != nil {
			deps.TableIPs = opts.tableIPs(env)
		}
		if env.APIKeys != nil {
			deps.APIKeys = env.APIKeys
		}
		if opts.signingKeys != nil {
			deps.SigningKeys = opts.signingKeys
		}
		if opts.redis != "" {
			ropts, err := redis.ParseURL(opts.redis)
			require.NoError(t, err)
			client := redis.NewClient(ropts)
			t.Cleanup(func() { client.Close() })
			deps.Redis = client
		}
		svc, err := realtime.New(cfg, deps)
		require.NoError(t, err)
		n.svc = svc
		n.slot = realtime.DefaultSlotName(env.DB.Name)
		if cfg.PostgresChanges.Replication.Slot != "" {
			n.slot = cfg.PostgresChanges.Replication.Slot
		}
		if ownsSlot {
			// Runs after the service stopped: a slot left behind would keep the database
			// from being dropped.
			t.Cleanup(func() { dropSlot(t, env, n.slot) })
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		var once sync.Once
		n.stop = func() {
			once.Do(func() {
				cancel()
				require.NoError(t, <-done)
			})
		}
		t.Cleanup(n.stop)
		return []gateway.Service{{Name: "realtime", Prefix: realtime.Prefix, Mount: svc.Mount}}
	}
	if opts.env != nil {
		// Another node of the same deployment: its own pools, service, gateway and listener.
		n.env = opts.env
		runner := db.NewRoleRunner(n.env.DB.RequestPool(t), db.RunnerConfig{})
		gw, err := gateway.New(gateway.Config{Development: true}, gateway.Deps{Keys: n.env.Keys, Logger: n.env.Logger},
			mount(n.env, runner, n.env.DB.NewPool(t))...)
		require.NoError(t, err)
		srv := httptest.NewServer(gw.Handler())
		t.Cleanup(srv.Close)
		n.url = srv.URL
	} else {
		n.env = servicetest.New(t, func(env *servicetest.Env) []gateway.Service { return mount(env, env.Runner, env.DB.Pool) },
			servicetest.Options{APIKeys: opts.apiKeys})
		n.url = n.env.URL
	}
	if opts.changes {
		waitStreaming(t, n.env, n.slot)
	}
	return n
}

// waitStreaming waits until some node streams from the slot, so that every change
// committed afterwards is delivered.
func waitStreaming(t *testing.T, env *servicetest.Env, slot string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var streaming bool
		err := env.DB.Pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_replication_slots s
			JOIN pg_stat_activity a ON a.pid = s.active_pid
			WHERE s.slot_name = $1 AND a.backend_type = 'walsender')`, slot).Scan(&streaming)
		return err == nil && streaming
	}, waitTimeout, 10*time.Millisecond, "the replication slot is being read")
}

func dropSlot(t *testing.T, env *servicetest.Env, slot string) {
	require.Eventually(t, func() bool {
		var present bool
		err := env.DB.Pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, slot).Scan(&present)
		if err != nil || !present {
			return err == nil
		}
		_, err = env.DB.Pool.Exec(context.Background(), `SELECT pg_drop_replication_slot($1)`, slot)
		return err == nil
	}, waitTimeout, 20*time.Millisecond, "drop the replication slot %s", slot)
}

// isReader reports whether the node reads the replication stream, from its metrics.
func (n *node) isReader(t *testing.T) bool {
	t.Helper()
	return gauge(t, n, "goforward_realtime_replication_reader") == 1
}

// counter reads a counter of the node's metrics.
func counter(t *testing.T, n *node, name string) float64 {
	t.Helper()
	families, err := n.metrics.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// gauge reads a gauge of the node's metrics.
func gauge(t *testing.T, n *node, name string) float64 {
	t.Helper()
	families, err := n.metrics.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

func (n *node) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := n.env.DB.Pool.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

// client is a WebSocket client speaking the Phoenix protocol as realtime-js does.
type client struct {
	t    *testing.T
	ws   *websocket.Conn
	vsn  string
	ref  atomic.Int64
	in   chan phoenix.Message
	done chan struct{}

	mu        sync.Mutex
	closeCode int
	closeText string
	backlog   []phoenix.Message
}

type dialOptions struct {
	vsn string // default 2.0.0
	key string // apikey; default the anon key
}

func dial(t *testing.T, n *node, opts ...dialOptions) *client {
	t.Helper()
	c, resp, err := tryDial(t, n, opts...)
	require.NoError(t, err, "dial: %v", resp)
	return c
}

func tryDial(t *testing.T, n *node, opts ...dialOptions) (*client, *http.Response, error) {
	t.Helper()
	var o dialOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.vsn == "" {
		o.vsn = phoenix.Version2
	}
	if o.key == "" {
		o.key = n.env.AnonKey()
	}
	u := strings.Replace(n.url, "http://", "ws://", 1) + realtime.Prefix + "/websocket?" +
		url.Values{"apikey": {o.key}, "vsn": {o.vsn}}.Encode()
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		return nil, resp, err
	}
	c := &client{t: t, ws: ws, vsn: o.vsn, in: make(chan phoenix.Message, 1024), done: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { ws.Close() })
	return c, resp, nil
}

func (c *client) read() {
	defer close(c.done)
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if ok := asCloseError(err, &ce); ok {
				c.mu.Lock()
				c.closeCode, c.closeText = ce.Code, ce.Text
				c.mu.Unlock()
			}
			return
		}
		msg, err := decodeServerFrame(c.vsn, kind == websocket.BinaryMessage, data)
		if err != nil {
			c.t.Errorf("undecodable frame from the server: %v: %q", err, data)
			return
		}
		c.in <- msg
	}
}

func asCloseError(err error, target **websocket.CloseError) bool {
	ce, ok := err.(*websocket.CloseError)
	if ok {
		*target = ce
	}
	return ok
}

// decodeServerFrame reads what the server sends: JSON in the client's serializer, or a
// binary user broadcast (kind 4), returned as a broadcast with the bytes in Broadcast.
func decodeServerFrame(vsn string, binary bool, data []byte) (phoenix.Message, error) {
	if !binary {
		return phoenix.Decode(vsn, false, data)
	}
	if len(data) < 5 || data[0] != 4 {
		return phoenix.Message{}, fmt.Errorf("unexpected binary frame kind %d", data[0])
	}
	topicLen, eventLen, metaLen := int(data[1]), int(data[2]), int(data[3])
	off := 5
	topic := string(data[off : off+topicLen])
	off += topicLen
	event := string(data[off : off+eventLen])
	off += eventLen + metaLen
	return phoenix.Message{Topic: topic, Event: "broadcast", Broadcast: &phoenix.UserBroadcast{Event: event, JSON: data[4] == 1, Payload: data[off:]}}, nil
}

// send pushes a message and returns its ref.
func (c *client) send(joinRef, topic, event string, payload any) string {
	c.t.Helper()
	ref := strconv.FormatInt(c.ref.Add(1), 10)
	c.sendWithRef(joinRef, ref, topic, event, payload)
	return ref
}

func (c *client) sendWithRef(joinRef, ref, topic, event string, payload any) {
	c.t.Helper()
	raw, err := json.Marshal(payload)
	require.NoError(c.t, err)
	frame := phoenix.Encode(c.vsn, phoenix.Message{JoinRef: joinRef, Ref: ref, Topic: topic, Event: event, Payload: raw})
	require.NoError(c.t, c.ws.WriteMessage(websocket.TextMessage, frame))
}

// sendRaw writes a frame as it is.
func (c *client) sendRaw(kind int, data []byte) {
	c.t.Helper()
	require.NoError(c.t, c.ws.WriteMessage(kind, data))
}

// channelConfig is a phx_join config as realtime-js builds it.
type channelConfig struct {
	Broadcast       map[string]any   `json:"broadcast"`
	Presence        map[string]any   `json:"presence"`
	PostgresChanges []map[string]any `json:"postgres_changes"`
	Private         bool             `json:"private"`
}

// join joins topic and returns the join ref and the reply's payload.
func (c *client) join(topic string, cfg channelConfig, token string) (string, replyPayload) {
	c.t.Helper()
	if cfg.Broadcast == nil {
		cfg.Broadcast = map[string]any{"ack": false, "self": false}
	}
	if cfg.Presence == nil {
		cfg.Presence = map[string]any{"key": "", "enabled": false}
	}
	if cfg.PostgresChanges == nil {
		cfg.PostgresChanges = []map[string]any{}
	}
	payload := map[string]any{"config": cfg}
	if token != "" {
		payload["access_token"] = token
	}
	// realtime-js sends a join with join_ref equal to its ref.
	ref := strconv.FormatInt(c.ref.Add(1), 10)
	c.sendWithRef(ref, ref, topic, "phx_join", payload)
	return ref, c.awaitReply(topic, ref)
}

type replyPayload struct {
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response"`
}

// awaitReply waits for the phx_reply to ref.
func (c *client) awaitReply(topic, ref string) replyPayload {
	c.t.Helper()
	msg := c.expect(func(m phoenix.Message) bool { return m.Event == "phx_reply" && m.Ref == ref && m.Topic == topic })
	var r replyPayload
	require.NoError(c.t, json.Unmarshal(msg.Payload, &r))
	return r
}

// expect returns the first message (new or kept from earlier waits) matching pred. Messages
// that do not match are kept for later expectations.
func (c *client) expect(pred func(phoenix.Message) bool) phoenix.Message {
	c.t.Helper()
	m, ok := c.next(pred, waitTimeout)
	require.True(c.t, ok, "no matching message within %s", waitTimeout)
	return m
}

func (c *client) next(pred func(phoenix.Message) bool, timeout time.Duration) (phoenix.Message, bool) {
	c.mu.Lock()
	for i, m := range c.backlog {
		if pred(m) {
			c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
			c.mu.Unlock()
			return m, true
		}
	}
	c.mu.Unlock()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-c.in:
			if pred(m) {
				return m, true
			}
			c.mu.Lock()
			c.backlog = append(c.backlog, m)
			c.mu.Unlock()
		case <-c.done:
			// Drain what arrived before the close.
			select {
			case m := <-c.in:
				if pred(m) {
					return m, true
				}
				c.mu.Lock()
				c.backlog = append(c.backlog, m)
				c.mu.Unlock()
				continue
			default:
			}
			return phoenix.Message{}, false
		case <-deadline:
			return phoenix.Message{}, false
		}
	}
}

// seen reports whether a message matching pred arrived before the one matching marker (which
// must arrive): the server keeps each connection's messages in order, so this proves a
// message was not sent without waiting for a timeout.
func (c *client) seenBefore(pred, marker func(phoenix.Message) bool) bool {
	c.t.Helper()
	found := false
	c.expect(func(m phoenix.Message) bool {
		if marker(m) {
			return true
		}
		if pred(m) {
			found = true
		}
		return false
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.backlog {
		if pred(m) {
			found = true
		}
	}
	return found
}

// waitClosed waits until the server closed the connection and returns its close frame.
func (c *client) waitClosed() (int, string) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		c.t.Fatal("the server did not close the connection")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode, c.closeText
}

func event(topic, name string) func(phoenix.Message) bool {
	return func(m phoenix.Message) bool { return m.Topic == topic && m.Event == name }
}

// broadcastEvent matches a broadcast of the user event name on topic.
func broadcastEvent(topic, name string) func(phoenix.Message) bool {
	return func(m phoenix.Message) bool {
		if m.Topic != topic || m.Event != "broadcast" {
			return false
		}
		if m.Broadcast != nil {
			return m.Broadcast.Event == name
		}
		var p struct {
			Event string `json:"event"`
		}
		return json.Unmarshal(m.Payload, &p) == nil && p.Event == name
	}
}

// systemMessage is a "system" push.
type systemMessage struct {
	Extension string `json:"extension"`
	Status    string `json:"status"`
	Message   string `json:"message"`
	Channel   string `json:"channel"`
}

func (c *client) expectSystem(topic string) systemMessage {
	c.t.Helper()
	m := c.expect(event(topic, "system"))
	var s systemMessage
	require.NoError(c.t, json.Unmarshal(m.Payload, &s))
	return s
}
