// Command soak runs mixed load against deploy/cluster/cluster.sh's three-node cluster and
// samples each node's memory, goroutines and open files and PostgreSQL's connections every
// interval, to show whether anything grows after warm-up (bench/RESULTS.md, "Scale-out").
//
//	go run ./bench/soak -dir /tmp/soak -duration 10m -subscribers 2000
//	go run ./bench/soak -dir /tmp/soak -scale -duration 30s   # REST reads on 1 node, then 3
//
// Everything runs on loopback. The cluster is started with cluster.sh and stopped at the end.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/bench/load"
)

func main() {
	dir := flag.String("dir", "", "cluster directory (created; required)")
	duration := flag.Duration("duration", 10*time.Minute, "how long the mixed load runs")
	warmup := flag.Duration("warmup", time.Minute, "the first part of the run, left out of the trend")
	interval := flag.Duration("sample", 10*time.Second, "how often the nodes are sampled")
	workers := flag.Int("workers", 24, "concurrent HTTP workers")
	subscribers := flag.Int("subscribers", 2000, "realtime subscribers, spread over the nodes")
	scale := flag.Bool("scale", false, "instead: REST reads on 1 node, then on 3, -rounds times, -duration each")
	rounds := flag.Int("rounds", 3, "rounds of the -scale comparison")
	flag.Parse()
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	c := up(*dir)
	defer c.down()
	c.prepare()
	if *scale {
		c.scaling(*duration, *workers, *rounds)
		return
	}
	c.soak(*duration, *warmup, *interval, *workers, *subscribers)
}

type cluster struct {
	dir, root     string
	lb            string
	nodes         []string
	primary       string
	anon, service string
	userEmail     string
}

func run(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		log.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func up(dir string) *cluster {
	root, err := filepath.Abs(".")
	if err != nil {
		log.Fatal(err)
	}
	// Development mode with the gateway's and sign-in limits off: the load is one client address.
	os.Setenv("CLUSTER_NODE_ENV", "GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND=0\nGOFORWARD_REALTIME_MAX_CONNECTIONS_PER_IP=0\nGOFORWARD_AUTH_RATE_LIMIT_TOKEN=100000000")
	os.Setenv("CLUSTER_PG_FSYNC", "off")
	log.Print(run("bash", filepath.Join(root, "deploy/cluster/cluster.sh"), "up", dir))
	c := &cluster{dir: dir, root: root}
	raw, err := os.ReadFile(filepath.Join(dir, "cluster.env"))
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, _ := strings.Cut(line, "=")
		v = strings.Trim(v, `"`)
		switch k {
		case "LB_URL":
			c.lb = v
		case "NODE_URLS":
			c.nodes = strings.Fields(v)
		case "PRIMARY_URL":
			c.primary = v
		}
	}
	bin := os.Getenv("GOFORWARD_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "bin", "goforward")
	}
	var status map[string]any
	out := run(bin, "status", "--data-dir", filepath.Join(dir, "node1"), "--json")
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		c.down()
		log.Fatal(err)
	}
	c.anon, c.service = status["anon_key"].(string), status["service_role_key"].(string)
	return c
}

func (c *cluster) down() {
	out, _ := exec.Command("bash", filepath.Join(c.root, "deploy/cluster/cluster.sh"), "down", c.dir).CombinedOutput()
	log.Printf("cluster down %s", out)
}

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// do sends one request and returns its status; the body is read and dropped.
func (c *cluster) do(method, url, key string, body []byte, contentType string) (int, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("apikey", key)
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// prepare makes the table, the bucket, an object and a user the load uses.
func (c *cluster) prepare() {
	conn, err := pgx.Connect(context.Background(), c.primary)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE TABLE IF NOT EXISTS public.soak (id bigserial PRIMARY KEY, note text);
		INSERT INTO public.soak (note) SELECT 'row ' || g FROM generate_series(1, 1000) g;
		ALTER PUBLICATION supabase_realtime ADD TABLE public.soak`); err != nil {
		log.Fatal(err)
	}
	c.do(http.MethodPost, c.lb+"/storage/v1/bucket", c.service, []byte(`{"name":"soak"}`), "application/json")
	if code, err := c.do(http.MethodPost, c.lb+"/storage/v1/object/soak/seed.bin", c.service, make([]byte, 256<<10), "application/octet-stream"); err != nil || code != 200 {
		log.Fatalf("seed upload: %d %v", code, err)
	}
	c.userEmail = "soak@example.com"
	c.do(http.MethodPost, c.lb+"/auth/v1/signup", c.anon, []byte(`{"email":"soak@example.com","password":"soak-password-123"}`), "application/json")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := c.do(http.MethodGet, c.lb+"/rest/v1/soak?select=id&limit=1", c.anon, nil, ""); code == 200 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log.Fatal("REST never saw the soak table")
}

// outcome counts answers by kind.
type outcome struct {
	ok, limited, failed atomic.Int64
	firstErr            atomic.Value
}

func (o *outcome) note(code int, err error) error {
	switch {
	case err == nil && code < 400:
		o.ok.Add(1)
		return nil
	case err == nil && code == http.StatusTooManyRequests:
		o.limited.Add(1)
		return nil
	}
	o.failed.Add(1)
	if err == nil {
		err = fmt.Errorf("status %d", code)
	}
	o.firstErr.CompareAndSwap(nil, err.Error())
	return err
}

// mixed is one call of the mix: 55% REST reads, 20% REST writes, 5% sign-ins, 5% uploads,
// 15% downloads, through the balancer.
func (c *cluster) mixed(o *outcome) func(context.Context, int) error {
	upload := make([]byte, 64<<10)
	signIn := []byte(`{"email":"soak@example.com","password":"soak-password-123"}`)
	var seq atomic.Int64
	return func(_ context.Context, _ int) error {
		switch p := rand.IntN(100); {
		case p < 55:
			return o.note(c.do(http.MethodGet, c.lb+"/rest/v1/soak?select=id,note&id=gt."+strconv.Itoa(rand.IntN(900))+"&limit=20", c.anon, nil, ""))
		case p < 75:
			return o.note(c.do(http.MethodPost, c.lb+"/rest/v1/soak", c.anon, []byte(`{"note":"soak"}`), "application/json"))
		case p < 80:
			return o.note(c.do(http.MethodPost, c.lb+"/auth/v1/token?grant_type=password", c.anon, signIn, "application/json"))
		case p < 85:
			name := fmt.Sprintf("up-%d.bin", seq.Add(1)%500)
			code, err := c.do(http.MethodPost, c.lb+"/storage/v1/object/soak/"+name, c.service, upload, "application/octet-stream")
			if code == http.StatusBadRequest || code == http.StatusConflict { // already there: replace it
				code, err = c.do(http.MethodPut, c.lb+"/storage/v1/object/soak/"+name, c.service, upload, "application/octet-stream")
			}
			return o.note(code, err)
		default:
			return o.note(c.do(http.MethodGet, c.lb+"/storage/v1/object/soak/seed.bin", c.service, nil, ""))
		}
	}
}

// subscribe opens n realtime subscribers to the soak table's inserts, spread over the nodes;
// each counts what it receives.
func (c *cluster) subscribe(ctx context.Context, n int, received *atomic.Int64) int {
	opened := 0
	for i := range n {
		u := strings.Replace(c.nodes[i%len(c.nodes)], "http://", "ws://", 1) + "/realtime/v1/websocket?vsn=2.0.0&apikey=" + url.QueryEscape(c.anon)
		ws, _, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			log.Printf("subscriber %d: %v", i, err)
			break
		}
		opened++
		join := `["1","1","realtime:soak","phx_join",{"config":{"postgres_changes":[{"event":"INSERT","schema":"public","table":"soak"}]}}]`
		if err := ws.WriteMessage(websocket.TextMessage, []byte(join)); err != nil {
			log.Fatal(err)
		}
		go func() {
			<-ctx.Done()
			ws.Close()
		}()
		go func() {
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if bytes.Contains(data, []byte(`"postgres_changes"`)) {
					received.Add(1)
				}
			}
		}()
		go func() {
			t := time.NewTicker(25 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					_ = ws.WriteMessage(websocket.TextMessage, []byte(`[null,"hb","phoenix","heartbeat",{}]`))
				}
			}
		}()
	}
	return opened
}

// sample is one node's state at one time.
type sample struct {
	heap, rss, goroutines, fds float64
}

func metrics(base string) (sample, error) {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return sample{}, err
	}
	defer resp.Body.Close()
	var s sample
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(v, 64)
		switch name {
		case "go_memstats_heap_inuse_bytes":
			s.heap = f
		case "process_resident_memory_bytes":
			s.rss = f
		case "go_goroutines":
			s.goroutines = f
		case "process_open_fds":
			s.fds = f
		}
	}
	return s, nil
}

func loadavg() string {
	raw, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (c *cluster) soak(duration, warmup, interval time.Duration, workers, subscribers int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var received atomic.Int64
	opened := c.subscribe(ctx, subscribers, &received)
	log.Printf("%d realtime subscribers open", opened)

	conn, err := pgx.Connect(ctx, c.primary)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(context.Background())
	var mu sync.Mutex
	var rows [][]string
	start := time.Now()
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			row := []string{fmt.Sprintf("%4.0f", time.Since(start).Seconds())}
			for _, n := range c.nodes {
				s, err := metrics(n)
				if err != nil {
					row = append(row, "down")
					continue
				}
				row = append(row, fmt.Sprintf("%5.1f/%5.1f MiB %5.0f g %4.0f fd", s.heap/(1<<20), s.rss/(1<<20), s.goroutines, s.fds))
			}
			var pgConns int
			_ = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'`).Scan(&pgConns)
			row = append(row, strconv.Itoa(pgConns), loadavg())
			mu.Lock()
			rows = append(rows, row)
			mu.Unlock()
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()

	var o outcome
	res := load.Run(ctx, load.Config{Concurrency: workers, Duration: duration, Warmup: warmup, MaxRequests: 1 << 40}, c.mixed(&o))
	close(stopSampling)
	<-sampled

	fmt.Printf("soak: %s of mixed load (%d workers, %s warm-up), %d realtime subscribers over %d nodes\n",
		duration, workers, warmup, opened, len(c.nodes))
	fmt.Printf("| t (s) | node 1 heap/RSS, goroutines, fds | node 2 | node 3 | PG conns | load avg |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Printf("| %s |\n", strings.Join(r, " | "))
	}
	first, _ := o.firstErr.Load().(string)
	fmt.Printf("\ncalls measured %d (%.0f/s), p50 %s, p90 %s, p99 %s, max %s; answered ok %d, rate-limited %d, failed %d (first: %s); changes received by subscribers %d\n",
		res.Requests, res.PerSecond(), res.P50, res.P90, res.P99, res.Max, o.ok.Load(), o.limited.Load(), o.failed.Load(), first, received.Load())
}

// scaling runs the same REST read load on node 1 alone and spread over the three nodes by the
// client (worker i calls node i mod 3, so no proxy hop is measured), alternating, rounds times.
func (c *cluster) scaling(duration time.Duration, workers, rounds int) {
	read := func(nodes []string) load.Result {
		var o outcome
		res := load.Run(context.Background(), load.Config{Concurrency: workers, Duration: duration, Warmup: 2 * time.Second},
			func(_ context.Context, worker int) error {
				base := nodes[worker%len(nodes)]
				return o.note(c.do(http.MethodGet, base+"/rest/v1/soak?select=id,note&id=gt."+strconv.Itoa(rand.IntN(900))+"&limit=20", c.anon, nil, ""))
			})
		if o.failed.Load() > 0 {
			log.Printf("%d failed calls (first: %v)", o.failed.Load(), o.firstErr.Load())
		}
		return res
	}
	fmt.Printf("| round | 1 node (req/s, p99) | 3 nodes (req/s, p99) | ratio | load avg |\n|---|---|---|---|---|\n")
	for r := range rounds {
		one := read(c.nodes[:1])
		three := read(c.nodes)
		fmt.Printf("| %d | %.0f, %s | %.0f, %s | %.2f | %s |\n", r+1, one.PerSecond(), one.P99, three.PerSecond(), three.P99, three.PerSecond()/one.PerSecond(), loadavg())
	}
}
