package auth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/servicetest"
)

func TestDevInbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.DevInboxSize = 2 }))
	for _, label := range []string{"a", "b", "c"} {
		status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": emailFor(t, label)}, "")
		require.Equal(t, http.StatusOK, status)
	}
	require.Empty(t, e.inbox(t, emailFor(t, "a")), "only the newest messages are kept")
	messages := e.inbox(t, emailFor(t, "c"))
	require.Len(t, messages, 1)
	m := messages[0]
	require.Equal(t, "email", m["channel"])
	require.Equal(t, "confirmation", m["kind"])
	require.Equal(t, "Confirm Your Signup", m["subject"])
	data := m["data"].(map[string]any)
	require.Len(t, data["token"], 6)
	require.Contains(t, data["link"], "/auth/v1/verify?")
	require.Contains(t, m["text"], data["token"])

	res := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/dev/inbox", Header: datedHeader})
	require.Equal(t, http.StatusForbidden, res.Status, "the anon key may not read it")
	require.Equal(t, "not_admin", res.Header.Get("x-sb-error-code"))
	res = e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/dev/inbox?limit=0", Key: e.ServiceRoleKey()})
	require.Equal(t, http.StatusBadRequest, res.Status)
}

func TestDevInboxIsOffOutsideDevelopment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.DevInbox = false }))
	status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": emailFor(t, "prod")}, "")
	require.Equal(t, http.StatusOK, status)
	res := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/dev/inbox", Key: e.ServiceRoleKey()})
	require.Equal(t, http.StatusNotFound, res.Status)
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.dev_inbox`))
}

func TestRedirectToMustBeAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) {
		c.SiteURL = "https://app.example.com"
		c.URIAllowList = []string{"https://*.preview.example.com/**", "myapp://callback"}
	}))
	cases := map[string]string{
		"https://app.example.com/after":         "https://app.example.com/after",
		"http://app.example.com/plain":          "http://app.example.com/plain",
		"https://pr-7.preview.example.com/a/b":  "https://pr-7.preview.example.com/a/b",
		"myapp://callback":                      "myapp://callback",
		"https://evil.example.net/steal":        "https://app.example.com",
		"https://a.b.preview.example.com/x":     "https://app.example.com",
		"javascript:alert(1)":                   "https://app.example.com",
		"https://user@app.example.com.evil.net": "https://app.example.com",
	}
	for requested, want := range cases {
		email := emailFor(t, requested)
		status, body := e.call(t, "POST", "/auth/v1/otp?redirect_to="+urlQueryEscape(requested), map[string]any{"email": email}, "")
		require.Equal(t, http.StatusOK, status, "body: %v", body)
		messages := e.inbox(t, email)
		require.Len(t, messages, 1)
		require.Equal(t, want, messages[0]["data"].(map[string]any)["redirect_to"], requested)
	}
}
