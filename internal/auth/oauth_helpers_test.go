package auth_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/auth/oidctest"
)

const (
	oauthClientID = "gf-client"
	oauthSecret   = "gf-secret"
	appURL        = "http://app.test/callback"
)

// oauthEnv is the auth service with a provider "acme" (generic OpenID Connect) served by a
// real OpenID Connect provider on loopback.
type oauthEnv struct {
	*env
	idp *oidctest.Provider
}

func startIdP(t testing.TB) *oidctest.Provider {
	t.Helper()
	idp, err := oidctest.Start(oauthClientID, oauthSecret)
	require.NoError(t, err)
	t.Cleanup(idp.Close)
	return idp
}

func newOAuthEnv(t testing.TB, mutate func(*auth.Config, *oidctest.Provider)) *oauthEnv {
	t.Helper()
	idp := startIdP(t)
	e := newEnv(t, withConfig(func(c *auth.Config) {
		c.URIAllowList = []string{"http://app.test/**"}
		c.External = map[string]auth.ExternalProvider{
			"acme": {Enabled: true, ClientID: []string{oauthClientID}, Secret: oauthSecret, Issuer: idp.URL},
		}
		if mutate != nil {
			mutate(c, idp)
		}
	}))
	return &oauthEnv{env: e, idp: idp}
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	formInput  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// step is one request of the browser.
type step struct {
	method, url string
	form        url.Values
}

// browse acts as the browser: it opens path on the server (with token, for manual linking)
// and follows redirects and auto-submitted forms through the server and the provider until
// it is sent elsewhere, and returns that location with the status that sent it there.
func (e *oauthEnv) browse(t *testing.T, path string) (*url.URL, int) {
	t.Helper()
	return e.browseFrom(t, step{method: "GET", url: e.URL + path})
}

func (e *oauthEnv) browseFrom(t *testing.T, s step) (*url.URL, int) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var body io.Reader
		if s.form != nil {
			body = strings.NewReader(s.form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, s.method, s.url, body)
		require.NoError(t, err)
		if s.form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := client.Do(req)
		require.NoError(t, err)
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		switch {
		case res.StatusCode == http.StatusOK && formAction.Match(page):
			form := url.Values{}
			for _, m := range formInput.FindAllStringSubmatch(string(page), -1) {
				form.Set(m[1], html.UnescapeString(m[2]))
			}
			s = step{method: "POST", url: e.local(html.UnescapeString(formAction.FindStringSubmatch(string(page))[1])), form: form}
		case res.StatusCode >= 300 && res.StatusCode < 400:
			loc := res.Header.Get("Location")
			if !strings.HasPrefix(loc, externalURL) && !strings.HasPrefix(loc, "http://127.0.0.1") {
				u, err := url.Parse(loc)
				require.NoError(t, err)
				return u, res.StatusCode
			}
			s = step{method: "GET", url: e.local(loc)}
		default:
			t.Fatalf("%s %s: %d %s", s.method, s.url, res.StatusCode, page)
		}
	}
	t.Fatal("too many redirects")
	return nil, 0
}

// local points links at the server's public URL to the test server.
func (e *oauthEnv) local(u string) string {
	if strings.HasPrefix(u, externalURL) {
		return e.URL + strings.TrimPrefix(u, externalURL)
	}
	return u
}

// fragmentOf parses a redirect's fragment.
func fragmentOf(t *testing.T, u *url.URL) url.Values {
	t.Helper()
	v, err := url.ParseQuery(u.Fragment)
	require.NoError(t, err)
	return v
}

// authorizePath is GET /authorize for provider with redirect_to and extra parameters.
func authorizePath(provider string, extra url.Values) string {
	q := url.Values{"provider": {provider}, "redirect_to": {appURL}}
	for k, v := range extra {
		q[k] = v
	}
	return "/auth/v1/authorize?" + q.Encode()
}

// redirectOf makes one request without following its redirect and returns the location.
func redirectOf(t *testing.T, method, target string) (*url.URL, int) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	require.NoError(t, err)
	res, err := client.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.True(t, res.StatusCode >= 300 && res.StatusCode < 400, "%s %s: %d %s", method, target, res.StatusCode, body)
	u, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	return u, res.StatusCode
}

// providerCallback runs /authorize and the provider's sign-in, and returns the callback URL
// the provider sends the browser to (on the test server), without opening it.
func (e *oauthEnv) providerCallback(t *testing.T, path string) *url.URL {
	t.Helper()
	toIdP, _ := redirectOf(t, "GET", e.URL+path)
	back, _ := redirectOf(t, "GET", toIdP.String())
	u, err := url.Parse(e.local(back.String()))
	require.NoError(t, err)
	return u
}

// withManualLinking turns on GET /user/identities/authorize and DELETE /user/identities/{id}.
func withManualLinking(c *auth.Config, _ *oidctest.Provider) { c.ManualLinking = true }
