package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// heapInUse reads go_memstats_heap_inuse_bytes from a node's /metrics (open in development).
func heapInUse(t *testing.T, base string) int64 {
	t.Helper()
	resp, err := crashClient.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for s := bufio.NewScanner(resp.Body); s.Scan(); {
		if v, ok := strings.CutPrefix(s.Text(), "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return int64(f)
		}
	}
	t.Fatal("no go_memstats_heap_inuse_bytes in /metrics")
	return 0
}

// smallBufferDial connects with a 4 KiB receive buffer, so the kernel stops taking data for
// a client that does not read almost at once and the server has to hold (or drop) the rest.
func smallBufferDial(network, addr string) (net.Conn, error) {
	conn, err := net.Dial(network, addr)
	if err == nil {
		err = conn.(*net.TCPConn).SetReadBuffer(4096)
	}
	return conn, err
}

// slowClients: downloads and realtime sockets whose clients stop reading cost the node a
// bounded amount of memory, however much is sent their way, and the node keeps serving.
func slowClients(t *testing.T, c *loopCluster, anon, service string) {
	node := c.nodes[0]
	const objectSize, downloads = 24 << 20, 16
	big := bytes.Repeat([]byte("0123456789abcdef"), objectSize/16)
	code, body := upload(t, c.lb+"/storage/v1/object/shared/big.bin", service, big)
	require.Equal(t, http.StatusOK, code, string(body))
	before := heapInUse(t, node)

	// Downloads that read nothing after their request.
	host := strings.TrimPrefix(node, "http://")
	for range downloads {
		conn, err := smallBufferDial("tcp", host)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		_, err = fmt.Fprintf(conn, "GET /storage/v1/object/shared/big.bin HTTP/1.1\r\nHost: %s\r\napikey: %s\r\nAuthorization: Bearer %s\r\n\r\n", host, service, service)
		require.NoError(t, err)
	}

	// Realtime sockets that join and then read nothing while broadcasts pour in.
	const sockets, broadcasts = 16, 120
	dialer := websocket.Dialer{NetDial: smallBufferDial}
	u := strings.Replace(node, "http://", "ws://", 1) + "/realtime/v1/websocket?vsn=2.0.0&apikey=" + anon
	for range sockets {
		ws, _, err := dialer.Dial(u, nil)
		require.NoError(t, err)
		t.Cleanup(func() { ws.Close() })
		require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(`["1","1","realtime:slow","phx_join",{"config":{}}]`)))
		_, reply, err := ws.ReadMessage()
		require.NoError(t, err)
		require.Contains(t, string(reply), `"status":"ok"`)
	}
	payload := strings.Repeat("x", 64<<10)
	for i := range broadcasts {
		code, body := call(t, http.MethodPost, node+"/realtime/v1/api/broadcast", service, map[string]any{
			"messages": []map[string]any{{"topic": "slow", "event": "blob", "payload": map[string]any{"i": i, "data": payload}}},
		})
		require.Equal(t, http.StatusAccepted, code, string(body))
	}

	// Unbounded buffering would hold every download whole (16 × 24 MiB) and every broadcast
	// for every socket (16 × 120 × 64 KiB): ~500 MiB. Bounded, the growth is buffers.
	code, body = call(t, http.MethodGet, node+"/storage/v1/object/shared/hello.txt", service, nil)
	require.Equal(t, http.StatusOK, code, "the node keeps serving others: %s", body)
	after := heapInUse(t, node)
	require.Less(t, after-before, int64(96<<20), "heap in use grew from %d to %d bytes", before, after)
}
