package realtime_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/servicetest"
)

// BenchmarkIdleJoinedConnection measures the live memory (heap and goroutine stacks, after a
// full collection) the server holds per idle WebSocket joined to a broadcast channel: b.N
// connections are opened, as bench/realtimebench does, and left idle. The clients are bare
// TCP sockets that wrote their handshake and join by hand, so the figure is almost all the
// server's (a client socket costs a few hundred bytes). Run:
//
//	go run ./internal/pgtest/withpg -- go test -run XX -bench IdleJoinedConnection -benchtime 2000x ./internal/realtime/
func BenchmarkIdleJoinedConnection(b *testing.B) {
	env := servicetest.New(b, func(env *servicetest.Env) []gateway.Service {
		svc, err := realtime.New(realtime.Config{
			HeartbeatTimeout:     time.Hour,
			MaxConnectionsPerKey: 1 << 20,
			MaxConnectionsPerIP:  -1,
			PostgresChanges:      realtime.PostgresChangesConfig{Disabled: true},
		}, realtime.Deps{Keys: env.Keys, Runner: env.Runner, Logger: env.Logger})
		require.NoError(b, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		b.Cleanup(func() {
			cancel()
			require.NoError(b, <-done)
		})
		return []gateway.Service{{Name: "realtime", Prefix: realtime.Prefix, Mount: svc.Mount}}
	})
	addr := strings.TrimPrefix(env.URL, "http://")
	path := realtime.Prefix + "/websocket?" + url.Values{"apikey": {env.AnonKey()}, "vsn": {"1.0.0"}}.Encode()

	// One connection first, so that what every connection shares (pools, the hub's maps) is
	// in the baseline.
	first := openIdleJoined(b, addr, path, "realtime:warm-up")
	defer first.Close()
	before := liveBytes()
	conns := make([]net.Conn, 0, b.N)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		// Rooms of 100, as in bench/realtimebench.
		conns = append(conns, openIdleJoined(b, addr, path, fmt.Sprintf("realtime:room-%d", i/100)))
	}
	b.StopTimer()
	after := liveBytes()
	b.ReportMetric(float64(int64(after)-int64(before))/float64(b.N), "live-B/conn")
}

// liveBytes is the heap and stack memory in use after a full collection.
func liveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// openIdleJoined dials the WebSocket, joins topic and returns the socket, with nothing of the
// client left in memory but the socket itself.
func openIdleJoined(b *testing.B, addr, path, topic string) net.Conn {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(b, err)
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	require.NoError(b, err)
	// The server sends nothing after its 101 until it answers the join, so the reader
	// buffers nothing past the handshake.
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(b, err)
	require.Equal(b, http.StatusSwitchingProtocols, resp.StatusCode)

	join := fmt.Sprintf(`{"topic":%q,"event":"phx_join","payload":{"config":{"broadcast":{"ack":false,"self":false},`+
		`"presence":{"key":"","enabled":false},"postgres_changes":[],"private":false}},"ref":"1","join_ref":"1"}`, topic)
	_, err = conn.Write(clientTextFrame([]byte(join)))
	require.NoError(b, err)
	reply := readServerFrame(b, br)
	require.Contains(b, string(reply), `"status":"ok"`, "the join is accepted")
	return conn
}

// clientTextFrame frames payload as a client must: masked (with a zero key, which leaves the
// payload as it is).
func clientTextFrame(payload []byte) []byte {
	header := []byte{0x81}
	switch {
	case len(payload) < 126:
		header = append(header, 0x80|byte(len(payload)))
	default:
		header = append(header, 0x80|126)
		header = binary.BigEndian.AppendUint16(header, uint16(len(payload)))
	}
	header = append(header, 0, 0, 0, 0)
	return append(header, payload...)
}

// readServerFrame reads one unfragmented, unmasked server frame and returns its payload.
func readServerFrame(b *testing.B, r io.Reader) []byte {
	b.Helper()
	head := make([]byte, 2)
	_, err := io.ReadFull(r, head)
	require.NoError(b, err)
	size := int(head[1] & 0x7f)
	if size == 126 {
		ext := make([]byte, 2)
		_, err = io.ReadFull(r, ext)
		require.NoError(b, err)
		size = int(binary.BigEndian.Uint16(ext))
	}
	payload := make([]byte, size)
	_, err = io.ReadFull(r, payload)
	require.NoError(b, err)
	return payload
}
