// Command lb is the load balancer of the loopback cluster (deploy/cluster/cluster.sh): a
// round-robin reverse proxy over the nodes that answer /ready, for machines without HAProxy.
// It is an example and a test fixture, not a production proxy: it has no TLS and no limits.
//
//	lb -listen 127.0.0.1:8080 http://127.0.0.1:8081 http://127.0.0.1:8082 ...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// backend is one node and whether its last health check passed.
type backend struct {
	url     *url.URL
	proxy   *httputil.ReverseProxy
	healthy atomic.Bool
}

type balancer struct {
	backends []*backend
	next     atomic.Uint64
}

// pick returns the next healthy node in turn, or nil when none is.
func (b *balancer) pick() *backend {
	n := len(b.backends)
	start := int(b.next.Add(1) % uint64(n))
	for i := range n {
		if be := b.backends[(start+i)%n]; be.healthy.Load() {
			return be
		}
	}
	return nil
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	be := b.pick()
	if be == nil {
		http.Error(w, "no node is ready", http.StatusServiceUnavailable)
		return
	}
	be.proxy.ServeHTTP(w, r)
}

// check asks each node's /ready every interval; a node that fails a check gets no new
// requests until it passes one again. A node that refuses a connection is marked at once.
func (b *balancer) check(ctx context.Context, interval time.Duration) {
	client := &http.Client{Timeout: interval}
	for {
		for _, be := range b.backends {
			resp, err := client.Get(be.url.String() + "/ready")
			ok := err == nil && resp.StatusCode == http.StatusOK
			if resp != nil {
				resp.Body.Close()
			}
			if was := be.healthy.Swap(ok); was != ok {
				log.Printf("node %s ready=%v", be.url, ok)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	interval := flag.Duration("check-interval", 500*time.Millisecond, "how often each node's /ready is checked")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: lb -listen ADDR NODE_URL...")
		os.Exit(2)
	}
	b := &balancer{}
	for _, raw := range flag.Args() {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			log.Fatalf("bad node URL %q", raw)
		}
		be := &backend{url: u}
		be.proxy = httputil.NewSingleHostReverseProxy(u)
		be.proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			var opErr *net.OpError
			if errors.As(err, &opErr) && opErr.Op == "dial" {
				be.healthy.Store(false)
			}
			http.Error(w, "node unreachable", http.StatusBadGateway)
		}
		b.backends = append(b.backends, be)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go b.check(ctx, *interval)
	srv := &http.Server{Addr: *listen, Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("listening on %s", *listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
