package authbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/goforward/goforward/bench/harness"
)

// Password is every benchmark user's password.
const Password = "bench-password-0123"

// client calls /auth/v1 the way supabase-js does (apikey and Bearer anon key).
type client struct {
	http    *http.Client
	base    string
	apiKey  string
	closeFn func()
}

func newClient(stack *harness.Stack, concurrency int) *client {
	transport := &http.Transport{
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		MaxConnsPerHost:     concurrency,
		DisableCompression:  true,
	}
	return &client{
		http:    &http.Client{Transport: transport, Timeout: time.Minute},
		base:    stack.URL + "/auth/v1",
		apiKey:  stack.AnonKey,
		closeFn: transport.CloseIdleConnections,
	}
}

func (c *client) close() { c.closeFn() }

// session is the part of GoTrue's session response the benchmark uses.
type session struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// post sends body as JSON to path and decodes a 200 answer into out.
func (c *client) post(ctx context.Context, path string, body any, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("apikey", c.apiKey)
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: status %d: %.300s", path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

func (c *client) signIn(ctx context.Context, email string) (session, error) {
	var s session
	err := c.post(ctx, "/token?grant_type=password", map[string]string{"email": email, "password": Password}, &s)
	if err == nil && (s.AccessToken == "" || s.RefreshToken == "") {
		err = errors.New("sign-in answered without a session")
	}
	return s, err
}

func (c *client) refresh(ctx context.Context, token string) (session, error) {
	var s session
	err := c.post(ctx, "/token?grant_type=refresh_token", map[string]string{"refresh_token": token}, &s)
	if err == nil && (s.AccessToken == "" || s.RefreshToken == "") {
		err = errors.New("refresh answered without a session")
	}
	return s, err
}

// signUpUsers creates n confirmed users through POST /signup and returns their addresses.
func (c *client) signUpUsers(ctx context.Context, n, concurrency int) ([]string, error) {
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-%d@example.com", i)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	var next atomic.Int64
	for range n {
		g.Go(func() error {
			email := emails[next.Add(1)-1]
			var s session
			if err := c.post(ctx, "/signup", map[string]string{"email": email, "password": Password}, &s); err != nil {
				return fmt.Errorf("sign up %s: %w", email, err)
			}
			if s.AccessToken == "" {
				return fmt.Errorf("sign up %s: no session (is e-mail autoconfirm on?)", email)
			}
			return nil
		})
	}
	return emails, g.Wait()
}
