package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAlertsFromServe: the monitor runs inside serve (elected, following the sealer): failed
// sign-ins to several accounts from one address raise credential_stuffing, which is posted
// to a signed webhook and blocks the address at the gateway; goforward alerts lists and
// acknowledges it while the server runs.
func TestAlertsFromServe(t *testing.T) {
	t.Parallel()
	const secret = "e2e-webhook-secret"
	delivered := make(chan map[string]any, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(r.Header.Get("X-Goforward-Timestamp") + "."))
		mac.Write(body)
		if !hmac.Equal([]byte("sha256="+hex.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get("X-Goforward-Signature"))) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var payload map[string]any
		_ = json.Unmarshal(body, &payload)
		delivered <- payload
	}))
	t.Cleanup(hook.Close)

	cli := controlCLI{t, tempDataDir(t)}
	srv := startServer(t, cli.dataDir, []string{
		"GOFORWARD_ALERTS_INTERVAL=100ms",
		"GOFORWARD_ALERTS_WEBHOOK_URL=" + hook.URL,
		"GOFORWARD_ALERTS_WEBHOOK_SECRET=" + secret,
		"GOFORWARD_ALERTS_RULES_CREDENTIAL_STUFFING_THRESHOLD=3",
		"GOFORWARD_ALERTS_RULES_CREDENTIAL_STUFFING_ACTION=block_ip",
	})
	srv.waitReady(60 * time.Second)
	var rt struct {
		AnonKey string `json:"anon_key"`
	}
	stdout, stderr, code := run(t, nil, "status", "--json", "--data-dir", cli.dataDir)
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &rt))
	require.NotEmpty(t, rt.AnonKey, stdout)

	signIn := func(email string) int {
		body, _ := json.Marshal(map[string]any{"email": email, "password": "wrong-password-1"})
		req, err := http.NewRequest("POST", srv.url()+"/auth/v1/token?grant_type=password", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("apikey", rt.AnonKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	for i := range 3 {
		require.Equal(t, http.StatusBadRequest, signIn("nobody"+strconv.Itoa(i)+"@example.com"))
	}
	var payload map[string]any
	select {
	case payload = <-delivered:
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook delivery")
	}
	alert := payload["alert"].(map[string]any)
	require.Equal(t, "credential_stuffing", alert["rule"])
	require.Equal(t, "ip:127.0.0.1", alert["subject"])
	require.Equal(t, "block_ip", alert["action"])
	require.Equal(t, http.StatusForbidden, signIn("someone@example.com"), "the address is blocked")

	var page struct {
		Alerts []struct {
			ID     int64  `json:"id"`
			Rule   string `json:"rule"`
			Status string `json:"status"`
		} `json:"alerts"`
	}
	cli.ok(&page, "alerts", "list")
	require.Len(t, page.Alerts, 1)
	require.Equal(t, "credential_stuffing", page.Alerts[0].Rule)
	var acked []struct {
		Status string `json:"status"`
	}
	cli.ok(&acked, "alerts", "ack", strconv.FormatInt(page.Alerts[0].ID, 10))
	require.Equal(t, "acknowledged", acked[0].Status)
}
