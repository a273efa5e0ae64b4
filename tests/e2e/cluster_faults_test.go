package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestClusterOnLoopback starts deploy/cluster/cluster.sh's cluster once and puts it through
// the faults a scaled-out deployment meets: the node reading the replication stream killed,
// a node killed in the middle of a resumable upload, Redis killed and restarted.
func TestClusterOnLoopback(t *testing.T) {
	t.Parallel()
	c := startLoopCluster(t, "GOFORWARD_DATABASE_MAX_REPLICA_LAG=2s",
		// The sweeper's grace, shortened so the test sees what it reclaims.
		"GOFORWARD_STORAGE_SWEEP_INTERVAL=1s", "GOFORWARD_STORAGE_SWEEP_ORPHAN_INTERVAL=1s", "GOFORWARD_STORAGE_SWEEP_ORPHAN_GRACE=3s")
	anon, service := c.keys()
	primary, err := pgx.Connect(t.Context(), c.info["PRIMARY_URL"])
	require.NoError(t, err)
	t.Cleanup(func() { primary.Close(context.Background()) })

	t.Run("storage on S3 is shared by every node behind the balancer", func(t *testing.T) {
		code, body := call(t, http.MethodPost, c.lb+"/storage/v1/bucket", service, map[string]any{"name": "shared"})
		require.Equal(t, http.StatusOK, code, string(body))
		code, body = upload(t, c.nodes[0]+"/storage/v1/object/shared/hello.txt", service, []byte("from node 1"))
		require.Equal(t, http.StatusOK, code, string(body))
		for _, base := range append([]string{c.lb}, c.nodes...) {
			code, body = call(t, http.MethodGet, base+"/storage/v1/object/shared/hello.txt", service, nil)
			require.Equal(t, http.StatusOK, code, string(body))
			require.Equal(t, "from node 1", string(body), "read through %s", base)
		}
		// The bytes are in the S3 server's bucket, not in a node's directory.
		resp, err := http.Get(c.info["S3_ENDPOINT"] + "/goforward?list-type=2")
		require.NoError(t, err)
		listing, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Contains(t, string(listing), "<Key>", "the S3 server holds the object: %s", listing)
	})

	t.Run("the replication stream moves to another node and every subscriber gets each change once", func(t *testing.T) {
		_, err := primary.Exec(t.Context(), `CREATE TABLE public.cluster_events (id int PRIMARY KEY);
			ALTER PUBLICATION supabase_realtime ADD TABLE public.cluster_events`)
		require.NoError(t, err)
		subs := make([]*wsClient, len(c.nodes))
		for i, n := range c.nodes {
			subs[i] = dialRealtime(t, n, anon)
			subs[i].join("realtime:events", map[string]any{"postgres_changes": []map[string]any{{"event": "INSERT", "schema": "public", "table": "cluster_events"}}})
			sys := subs[i].await("Subscribed to PostgreSQL", is("realtime:events", "system"))
			require.Contains(t, string(sys), "Subscribed to PostgreSQL")
		}
		reader := c.readerNode(t, primary, -1, 30*time.Second)

		// Rows keep coming, one transaction each (so commit order is id order), while the
		// reader is killed with no chance to confirm what it already handed on.
		const rows = 80
		halfway, inserted := make(chan struct{}), make(chan error, 1)
		go func() {
			conn, err := pgx.Connect(context.Background(), c.info["PRIMARY_URL"])
			if err != nil {
				inserted <- err
				close(halfway)
				return
			}
			defer conn.Close(context.Background())
			for id := 1; id <= rows; id++ {
				if _, err := conn.Exec(context.Background(), `INSERT INTO public.cluster_events (id) VALUES ($1)`, id); err != nil {
					inserted <- err
					return
				}
				if id == rows/2 {
					close(halfway)
				}
				time.Sleep(10 * time.Millisecond)
			}
			inserted <- nil
		}()
		<-halfway
		c.kill(fmt.Sprintf("node%d", reader+1))
		killed := time.Now()
		t.Cleanup(func() { c.script(180*time.Second, "node", strconv.Itoa(reader+1)) })
		// The bound: another node reads the stream within 10 s of the kill.
		next := c.readerNode(t, primary, reader, 10*time.Second-time.Since(killed))
		require.NotEqual(t, reader, next)
		require.NoError(t, <-inserted)

		const sentinel = 1_000_000
		_, err = primary.Exec(t.Context(), `INSERT INTO public.cluster_events (id) VALUES ($1)`, sentinel)
		require.NoError(t, err)
		for i, sub := range subs {
			if i == reader {
				continue
			}
			var got []int
			for {
				id := changeID(t, sub.await("changes on node "+strconv.Itoa(i+1), is("realtime:events", "postgres_changes")))
				if id == sentinel {
					break
				}
				got = append(got, id)
				require.Equal(t, len(got), id, "node %d: each row once, in commit order: %v", i+1, got)
			}
			require.Len(t, got, rows, "node %d received every row before the sentinel", i+1)
		}
	})

	t.Run("a resumable upload started on a node that dies completes on another", func(t *testing.T) {
		data := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB
		meta := "bucketName " + base64.StdEncoding.EncodeToString([]byte("shared")) +
			",objectName " + base64.StdEncoding.EncodeToString([]byte("resumed.bin"))
		created := tusRequest(t, http.MethodPost, c.nodes[2]+"/storage/v1/upload/resumable", service, nil,
			http.Header{"Upload-Length": {strconv.Itoa(len(data))}, "Upload-Metadata": {meta}})
		require.Equal(t, http.StatusCreated, created.StatusCode)
		location := created.Header.Get("Location")
		require.NotEmpty(t, location)
		if !strings.HasPrefix(location, "http") {
			location = c.nodes[2] + location
		}
		path := location[strings.Index(location, "/storage/"):]
		const chunk = 256 << 10
		first := tusRequest(t, http.MethodPatch, c.nodes[2]+path, service, data[:chunk], http.Header{"Upload-Offset": {"0"}})
		require.Equal(t, http.StatusNoContent, first.StatusCode)

		c.kill("node3")
		t.Cleanup(func() { c.script(180*time.Second, "node", "3") })
		// The client resumes through the balancer, which no longer sends anything to node 3.
		var offset int
		require.Eventually(t, func() bool {
			head := tusRequest(t, http.MethodHead, c.lb+path, service, nil, nil)
			offset, _ = strconv.Atoi(head.Header.Get("Upload-Offset"))
			return head.StatusCode == http.StatusOK
		}, 30*time.Second, 50*time.Millisecond, "the upload's offset is known on the other nodes")
		require.Equal(t, chunk, offset)
		// As tus-js-client does: a PATCH that fails (the balancer may still hand one to the dead
		// node over a kept-alive connection before its check notices) is followed by a HEAD for
		// the offset the server has, and the upload goes on from there.
		for failures := 0; offset < len(data); {
			end := min(offset+chunk, len(data))
			resp := tusRequest(t, http.MethodPatch, c.lb+path, service, data[offset:end], http.Header{"Upload-Offset": {strconv.Itoa(offset)}})
			if resp.StatusCode == http.StatusNoContent {
				offset = end
				continue
			}
			failures++
			require.Less(t, failures, 5, "PATCH answered %d", resp.StatusCode)
			if head := tusRequest(t, http.MethodHead, c.lb+path, service, nil, nil); head.StatusCode == http.StatusOK {
				offset, _ = strconv.Atoi(head.Header.Get("Upload-Offset"))
			}
		}
		code, body := call(t, http.MethodGet, c.lb+"/storage/v1/object/shared/resumed.bin", service, nil)
		require.Equal(t, http.StatusOK, code)
		require.True(t, bytes.Equal(data, body), "the object is the uploaded bytes (%d of %d)", len(body), len(data))
		var uploads int
		require.NoError(t, primary.QueryRow(t.Context(), `SELECT count(*) FROM storage.resumable_uploads`).Scan(&uploads))
		require.Zero(t, uploads, "the finished upload's row is gone")
	})

	t.Run("clients that stop reading do not grow a node's memory", func(t *testing.T) {
		slowClients(t, c, anon, service)
	})

	t.Run("a node killed during uploads leaves no orphan blob or row", func(t *testing.T) {
		killedDuringUploads(t, c, primary, service)
	})

	t.Run("reads go to the streaming replica while it keeps up", func(t *testing.T) {
		replicaReads(t, c, primary, anon)
	})

	t.Run("Redis killed and restarted: nodes limit on their own, then share again", func(t *testing.T) {
		listener, talker := dialRealtime(t, c.nodes[0], anon), dialRealtime(t, c.nodes[1], anon)
		listener.join("realtime:room", map[string]any{})
		talkerRef := talker.join("realtime:room", map[string]any{})
		crossed := func() bool {
			talker.push(talkerRef, "realtime:room", "broadcast", map[string]any{"type": "broadcast", "event": "ping", "payload": map[string]any{}})
			time.Sleep(100 * time.Millisecond) // the broadcast has no ack to wait for; this paces the retries
			_, ok := listener.take(is("realtime:room", "broadcast"))
			return ok
		}
		require.Eventually(t, crossed, 30*time.Second, 10*time.Millisecond, "broadcasts cross nodes through Redis")

		c.kill("redis")
		// Realtime on one node goes on as a single node's would.
		local := dialRealtime(t, c.nodes[0], anon)
		localRef := local.join("realtime:room", map[string]any{})
		local.push(localRef, "realtime:room", "broadcast", map[string]any{"type": "broadcast", "event": "local", "payload": map[string]any{}})
		listener.await("a broadcast from the same node while Redis is down", func(tp, ev string, p json.RawMessage) bool {
			return tp == "realtime:room" && ev == "broadcast" && strings.Contains(string(p), `"event":"local"`)
		})
		require.Contains(t, c.log("node1"), "realtime: redis unreachable")
		for i, n := range c.nodes {
			code, body := call(t, http.MethodGet, n+"/rest/v1/cluster_events?select=id&limit=1", anon, nil)
			require.Equal(t, http.StatusOK, code, "node %d serves without Redis: %s", i+1, body)
			require.Contains(t, c.log(fmt.Sprintf("node%d", i+1)), "rate-limit store unreachable", "node %d logs the fallback", i+1)
		}

		c.script(30*time.Second, "redis")
		require.Eventually(t, crossed, 60*time.Second, 10*time.Millisecond, "broadcasts cross nodes again once Redis is back")
		local.push(localRef, "realtime:room", "broadcast", map[string]any{"type": "broadcast", "event": "back", "payload": map[string]any{}})
		require.Eventually(t, func() bool { return strings.Contains(c.log("node1"), "realtime: redis reachable again") }, 30*time.Second, 50*time.Millisecond,
			"node 1 says realtime crosses nodes again")
		require.Eventually(t, func() bool {
			for i, n := range c.nodes {
				code, _ := call(t, http.MethodGet, n+"/rest/v1/cluster_events?select=id&limit=1", anon, nil)
				if code != http.StatusOK || !strings.Contains(c.log(fmt.Sprintf("node%d", i+1)), "rate-limit store reachable again") {
					return false
				}
			}
			return true
		}, 60*time.Second, 200*time.Millisecond, "every node counts in Redis again and says so")
	})
}

// replicaReads: REST reads go to the streaming replica while it keeps up, to the primary
// while it lags beyond database.max_replica_lag or is down; writes always go to the primary.
func replicaReads(t *testing.T, c *loopCluster, primary *pgx.Conn, anon string) {
	replica, err := pgx.Connect(t.Context(), c.info["REPLICA_URL"])
	require.NoError(t, err)
	defer replica.Close(context.Background())
	_, err = primary.Exec(t.Context(), `CREATE TABLE public.replica_notes (id int PRIMARY KEY)`)
	require.NoError(t, err)
	rows := c.nodes[0] + "/rest/v1/replica_notes?select=id&order=id"
	read := func() string {
		code, body := call(t, http.MethodGet, rows, anon, nil)
		require.Equal(t, http.StatusOK, code, string(body))
		return string(body)
	}
	require.Eventually(t, func() bool {
		code, _ := call(t, http.MethodGet, rows, anon, nil)
		return code == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "the table reached the replica and REST's schema cache")

	// The replica stops replaying: what is written now stays invisible there.
	_, err = replica.Exec(t.Context(), `SELECT pg_wal_replay_pause()`)
	require.NoError(t, err)
	code, body := call(t, http.MethodPost, c.nodes[0]+"/rest/v1/replica_notes", anon, map[string]any{"id": 1})
	require.Equal(t, http.StatusCreated, code, "writes go to the primary: %s", body)
	require.Equal(t, `[]`, read(), "a read right after the write ran on the (paused) replica")
	require.Eventually(t, func() bool { return read() == `[{"id":1}]` }, 30*time.Second, 100*time.Millisecond,
		"once the replica lags beyond max_replica_lag, reads go to the primary")
	require.Contains(t, c.log("node1"), "read replica skipped")

	_, err = replica.Exec(t.Context(), `SELECT pg_wal_replay_resume()`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.Count(c.log("node1"), `"read replica in use"`) >= 2 }, 30*time.Second, 100*time.Millisecond,
		"the replica serves reads again once it caught up")
	require.Equal(t, `[{"id":1}]`, read())

	// A replica that is gone: reads are answered by the primary at once.
	replica.Close(context.Background())
	bin := filepath.Dir(mustPgBin(t))
	stop := exec.Command("runuser", "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", filepath.Join(c.dir, "replica"), "-m", "immediate", "stop")
	if os.Geteuid() != 0 {
		stop = exec.Command(filepath.Join(bin, "pg_ctl"), "-D", filepath.Join(c.dir, "replica"), "-m", "immediate", "stop")
	}
	out, err := stop.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for range 5 {
		require.Equal(t, `[{"id":1}]`, read(), "reads survive the replica's loss")
	}
}

// killedDuringUploads kills node 2 while uploads to it are half sent. Uploads it had answered
// stay whole; after the sweeper's grace the S3 bucket holds exactly the blobs of the rows.
func killedDuringUploads(t *testing.T, c *loopCluster, primary *pgx.Conn, service string) {
	code, body := call(t, http.MethodPost, c.lb+"/storage/v1/bucket", service, map[string]any{"name": "killed"})
	require.Equal(t, http.StatusOK, code, string(body))
	payload := bytes.Repeat([]byte("goforward "), 60<<10) // 600 KiB
	const done, inFlight = 4, 6
	for i := range done {
		code, body := upload(t, fmt.Sprintf("%s/storage/v1/object/killed/done-%d", c.nodes[1], i), service, payload)
		require.Equal(t, http.StatusOK, code, string(body))
	}
	release := make(chan struct{})
	sent := make(chan struct{}, inFlight)
	finished := make(chan struct{}, inFlight)
	for i := range inFlight {
		pr, pw := io.Pipe()
		go func() {
			defer func() { finished <- struct{}{} }()
			req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/storage/v1/object/killed/cut-%d", c.nodes[1], i), pr)
			if err != nil {
				return
			}
			req.Header.Set("apikey", service)
			req.Header.Set("Authorization", "Bearer "+service)
			req.Header.Set("Content-Type", "application/octet-stream")
			if resp, err := crashClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		go func() {
			if _, err := pw.Write(payload[:len(payload)/2]); err == nil {
				sent <- struct{}{}
			}
			<-release
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}()
	}
	for range inFlight {
		<-sent // half of each body reached node 2
	}
	c.kill("node2")
	t.Cleanup(func() { c.script(180*time.Second, "node", "2") })
	close(release)
	for range inFlight {
		<-finished
	}

	var keys, rows []string
	require.Eventually(t, func() bool {
		resp, err := http.Get(c.info["S3_ENDPOINT"] + "/goforward?list-type=2&prefix=killed/")
		if err != nil {
			return false
		}
		var listing struct {
			Contents []struct{ Key string }
		}
		err = xml.NewDecoder(resp.Body).Decode(&listing)
		resp.Body.Close()
		if err != nil {
			return false
		}
		keys = keys[:0]
		for _, c := range listing.Contents {
			keys = append(keys, c.Key)
		}
		r, err := primary.Query(context.Background(), `SELECT 'killed/' || name || '/' || version FROM storage.objects WHERE bucket_id = 'killed'`)
		if err != nil {
			return false
		}
		rows, err = pgx.CollectRows(r, pgx.RowTo[string])
		if err != nil {
			return false
		}
		sort.Strings(keys)
		sort.Strings(rows)
		return slices.Equal(keys, rows)
	}, 60*time.Second, 200*time.Millisecond, "after the sweeper's grace every blob has its row and every row its blob")
	require.Len(t, rows, done, "only the uploads node 2 answered have rows: %v", rows)
	for i := range done {
		code, body := call(t, http.MethodGet, fmt.Sprintf("%s/storage/v1/object/killed/done-%d", c.lb, i), service, nil)
		require.Equal(t, http.StatusOK, code)
		require.True(t, bytes.Equal(payload, body), "done-%d is whole", i)
	}
}

// mustPgBin finds the PostgreSQL server's pg_ctl, as cluster.sh does.
func mustPgBin(t *testing.T) string {
	t.Helper()
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) > 0 {
		sort.Strings(matches)
		return matches[len(matches)-1]
	}
	path, err := exec.LookPath("pg_ctl")
	require.NoError(t, err, "pg_ctl not found")
	return path
}

// readerNode waits until a node other than not (-1: any) reads the replication stream and
// returns its index.
func (c *loopCluster) readerNode(t *testing.T, primary *pgx.Conn, not int, within time.Duration) int {
	t.Helper()
	found := -1
	require.Eventually(t, func() bool {
		rows, err := primary.Query(context.Background(), `SELECT a.application_name FROM pg_replication_slots s
			JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.active`)
		if err != nil {
			return false
		}
		apps, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return false
		}
		for _, app := range apps {
			for i := range c.nodes {
				if i != not && app == fmt.Sprintf("goforward realtime reader pid=%d", c.pid(fmt.Sprintf("node%d", i+1))) {
					found = i
					return true
				}
			}
		}
		return false
	}, within, 20*time.Millisecond, "a node (not %d) reads the replication stream", not+1)
	return found
}

func changeID(t *testing.T, payload json.RawMessage) int {
	t.Helper()
	var change struct {
		Data struct {
			Record struct {
				ID int `json:"id"`
			} `json:"record"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(payload, &change), string(payload))
	return change.Data.Record.ID
}

func upload(t *testing.T, url, key string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("apikey", key)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := crashClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// tusRequest sends one TUS request and returns the response with its body read.
func tusRequest(t *testing.T, method, url, key string, body []byte, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("apikey", key)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/offset+octet-stream")
	}
	resp, err := crashClient.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Logf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	return resp
}
