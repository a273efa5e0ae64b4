package auth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/auth/oidctest"
)

// oauthFlow is one complete sign-in through the OpenID Connect code flow with PKCE, as a
// browser and supabase-js make it: GET /authorize, the provider's authorization endpoint,
// GET /callback (which exchanges the code at the provider and checks the id_token against
// its keys), then POST /token?grant_type=pkce. Everything runs on loopback: the gateway and
// auth service on a real PostgreSQL, and the oidctest provider.
type oauthFlowBench struct {
	e         *oauthEnv
	client    *http.Client
	challenge string
	verifier  string
}

func newOAuthFlowBench(b *testing.B) *oauthFlowBench {
	// The token endpoint's rate limit (bursts of 30) would measure itself.
	e := newOAuthEnv(b, func(c *auth.Config, _ *oidctest.Provider) { c.RateLimits.Token = -1 })
	verifier, challenge := pkcePair("b")
	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 256},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &oauthFlowBench{e: e, client: client, challenge: challenge, verifier: verifier}
}

func (f *oauthFlowBench) do(ctx context.Context, method, target, body string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("apikey", f.e.AnonKey())
	}
	res, err := f.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(data), err
}

// signIn runs one flow for the user with address email.
func (f *oauthFlowBench) signIn(ctx context.Context, email string) error {
	target := f.e.URL + authorizePath("acme", url.Values{"code_challenge": {f.challenge}, "code_challenge_method": {"s256"}, "login_hint": {email}})
	for range 3 { // /authorize → provider → /callback
		res, body, err := f.do(ctx, http.MethodGet, target, "")
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusFound {
			return fmt.Errorf("GET %s: %d %s", target, res.StatusCode, body)
		}
		target = f.e.local(res.Header.Get("Location"))
	}
	u, err := url.Parse(target)
	if err != nil || u.Query().Get("code") == "" {
		return fmt.Errorf("no code in %s", target)
	}
	res, body, err := f.do(ctx, http.MethodPost, f.e.URL+"/auth/v1/token?grant_type=pkce",
		fmt.Sprintf(`{"auth_code":%q,"code_verifier":%q}`, u.Query().Get("code"), f.verifier))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("pkce exchange: %d %s", res.StatusCode, body)
	}
	return nil
}

// BenchmarkOAuthCodeFlow measures returning users' sign-ins (32 users, each signed in once
// before the timer starts) one at a time for latency and with 16 concurrent browsers for
// throughput, and reports the provider's own serving time per flow separately.
func BenchmarkOAuthCodeFlow(b *testing.B) {
	f := newOAuthFlowBench(b)
	ctx := b.Context()
	users := make([]string, 32)
	for i := range users {
		users[i] = fmt.Sprintf("bench-%d@example.com", i)
		if err := f.signIn(ctx, users[i]); err != nil {
			b.Fatal(err)
		}
	}
	report := func(b *testing.B, flows int64, elapsed time.Duration, busy0, req0 int64, latencies []time.Duration) {
		b.ReportMetric(float64(flows)/elapsed.Seconds(), "flows/s")
		b.ReportMetric(float64(f.e.idp.Busy.Load()-busy0)/float64(flows)/1e6, "provider-ms/flow")
		b.ReportMetric(float64(f.e.idp.Requests.Load()-req0)/float64(flows), "provider-requests/flow")
		if len(latencies) > 0 {
			slices.Sort(latencies)
			b.ReportMetric(float64(latencies[len(latencies)/2])/1e6, "p50-ms")
			b.ReportMetric(float64(latencies[len(latencies)*99/100])/1e6, "p99-ms")
		}
	}
	b.Run("serial", func(b *testing.B) {
		busy0, req0 := f.e.idp.Busy.Load(), f.e.idp.Requests.Load()
		latencies := make([]time.Duration, 0, b.N)
		start := time.Now()
		for i := 0; b.Loop(); i++ {
			t0 := time.Now()
			if err := f.signIn(ctx, users[i%len(users)]); err != nil {
				b.Fatal(err)
			}
			latencies = append(latencies, time.Since(t0))
		}
		report(b, int64(len(latencies)), time.Since(start), busy0, req0, latencies)
	})
	b.Run("parallel16", func(b *testing.B) {
		busy0, req0 := f.e.idp.Busy.Load(), f.e.idp.Requests.Load()
		var (
			n         atomic.Int64
			mu        sync.Mutex
			latencies []time.Duration
		)
		b.SetParallelism(8) // 16 browsers on 2 processors
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				t0 := time.Now()
				if err := f.signIn(ctx, users[int(n.Add(1))%len(users)]); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
		report(b, n.Load(), time.Since(start), busy0, req0, latencies)
	})
}
