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
	"io"
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
	healthy atomic.Bool
}

// balancer is the proxy's transport: it sends each request to the next healthy node, and to
// the one after when a node refuses the connection (it died since its last check), as
// HAProxy's redispatch does.
type balancer struct {
	backends  []*backend
	next      atomic.Uint64
	transport http.RoundTripper
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

var errNoNode = errors.New("no node is ready")

// untouched is a request body that remembers whether any of it was read, so a request whose
// connection was refused before it sent anything can go to another node.
type untouched struct {
	io.ReadCloser
	read atomic.Bool
}

func (u *untouched) Read(p []byte) (int, error) {
	n, err := u.ReadCloser.Read(p)
	if n > 0 {
		u.read.Store(true)
	}
	return n, err
}

// Close leaves the body open for the next attempt; the server closes it after the handler.
func (u *untouched) Close() error { return nil }

func (b *balancer) RoundTrip(r *http.Request) (*http.Response, error) {
	var body *untouched
	if r.Body != nil && r.Body != http.NoBody {
		body = &untouched{ReadCloser: r.Body}
	}
	for range len(b.backends) {
		be := b.pick()
		if be == nil {
			break
		}
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host = be.url.Scheme, be.url.Host
		if body != nil {
			out.Body = body
		}
		resp, err := b.transport.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		if !refused(err) || (body != nil && body.read.Load()) {
			// The node failed mid-request (killed with a connection kept alive): no new
			// requests go to it until its next check passes. This one cannot be sent again,
			// part of its body is gone; the client retries (as tus-js-client does).
			if r.Context().Err() == nil && be.healthy.Swap(false) {
				log.Printf("node %s failed a request (%v); taken out until its next check", be.url, err)
			}
			return nil, err
		}
		if be.healthy.Swap(false) {
			log.Printf("node %s refused a connection; taken out", be.url)
		}
	}
	return nil, errNoNode
}

func refused(err error) bool {
	var opErr *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &opErr) && opErr.Op == "dial")
}

// check asks each node's /ready every interval; a node that fails a check gets no new
// requests until it passes one again.
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
	b := &balancer{transport: http.DefaultTransport}
	for _, raw := range flag.Args() {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			log.Fatalf("bad node URL %q", raw)
		}
		b.backends = append(b.backends, &backend{url: u})
	}
	proxy := &httputil.ReverseProxy{
		// The balancer's RoundTrip picks the node; X-Forwarded-For is added here.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport: b,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			status := http.StatusBadGateway
			if errors.Is(err, errNoNode) {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, err.Error(), status)
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go b.check(ctx, *interval)
	srv := &http.Server{Addr: *listen, Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
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
