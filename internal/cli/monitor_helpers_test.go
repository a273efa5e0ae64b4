package cli

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/alerts"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/mailer/mailertest"
	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/servicetest"
)

// hookSecret signs the test webhook's deliveries.
const hookSecret = "alerts-webhook-test-secret"

// hookReceiver is a real HTTP webhook receiver on loopback. It checks every delivery's
// signature the way a receiver would (HMAC-SHA256 over timestamp "." body), answers fail
// times with 500 before it accepts, and keeps what it accepted.
type hookReceiver struct {
	server   *httptest.Server
	fail     atomic.Int32
	attempts atomic.Int32
	mu       sync.Mutex
	got      []alerts.Alert
	arrived  chan struct{}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{arrived: make(chan struct{}, 100)}
	h.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.attempts.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mac := hmac.New(sha256.New, []byte(hookSecret))
		mac.Write([]byte(r.Header.Get("X-Goforward-Timestamp") + "."))
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Goforward-Signature"))) || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook: bad signature or content type: %q", r.Header.Get("X-Goforward-Signature"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if h.fail.Add(-1) >= 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var payload struct {
			Type  string       `json:"type"`
			Alert alerts.Alert `json:"alert"`
		}
		if err := json.Unmarshal(body, &payload); err != nil || payload.Type != "security_alert" {
			t.Errorf("webhook: unexpected body %s", body)
		}
		h.mu.Lock()
		h.got = append(h.got, payload.Alert)
		h.mu.Unlock()
		h.arrived <- struct{}{}
	}))
	t.Cleanup(h.server.Close)
	return h
}

// waitFor returns the first delivered alert of rule, waiting for deliveries as they come.
func (h *hookReceiver) waitFor(t *testing.T, rule string) alerts.Alert {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		for _, a := range h.got {
			if a.Rule == rule {
				h.mu.Unlock()
				return a
			}
		}
		h.mu.Unlock()
		select {
		case <-h.arrived:
		case <-deadline:
			t.Fatalf("no webhook delivery of a %s alert", rule)
		}
	}
}

func (h *hookReceiver) delivered(rule string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, a := range h.got {
		if a.Rule == rule {
			n++
		}
	}
	return n
}

// alertEnv is /auth/v1 and /admin/v1 as serve builds them, behind a gateway with the security
// monitor's guard, with the monitor, its webhook receiver and a real SMTP server.
type alertEnv struct {
	*adminEnv
	cfg     config.Config
	monitor *alerts.Monitor
	guard   *alerts.Guard
	sealer  *audit.Sealer
	hook    *hookReceiver
	smtp    *mailertest.Server
}

// alertTestRules are low thresholds, so that a test reaches them in a few requests.
func alertTestRules(cfg *config.Config) {
	r := &cfg.Alerts.Rules
	r.BruteForceAccount.Threshold = 3
	r.BruteForceIP.Threshold = 4
	r.CredentialStuffing.Threshold = 3
	r.PrivilegeEscalation.Threshold = 2
	r.UnauthorizedBurst.Threshold = 5
}

func newAlertEnv(t *testing.T, tune func(*config.Config), limits ...*ratelimit.Store) *alertEnv {
	t.Helper()
	e := &alertEnv{hook: newHookReceiver(t), smtp: mailertest.NewServer(t)}
	cfg := config.Defaults()
	cfg.Server.PublicURL = "http://localhost:8080"
	cfg.Services = []string{"auth", "admin"}
	cfg.Auth.BcryptCost = 4
	cfg.Auth.RateLimit.Token = 10000
	cfg.Auth.RateLimit.MFA = 10000
	smtp := e.smtp.Config()
	cfg.Auth.SMTP = config.AuthSMTPConfig{Host: smtp.Host, Port: smtp.Port, User: smtp.User, Password: smtp.Password, From: smtp.From, TLS: smtp.TLS}
	cfg.Alerts.Webhook.URL = e.hook.server.URL + "/hook"
	cfg.Alerts.Webhook.Secret = hookSecret
	cfg.Alerts.Webhook.Retries = 1
	cfg.Alerts.Email.SystemAdmins = true
	alertTestRules(&cfg)
	if tune != nil {
		tune(&cfg)
	}
	require.NoError(t, cfg.Validate())
	e.cfg = cfg
	if len(limits) == 0 {
		limits = []*ratelimit.Store{ratelimit.NewStore(ratelimit.StoreConfig{})}
	}
	store := limits[0]
	var users func() (*auth.Service, error)
	e.adminEnv = &adminEnv{clock: &testClock{now: time.Now()}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.adminEnv.Env = servicetest.New(t, func(se *servicetest.Env) []gateway.Service {
		sd := serviceDeps{cfg: cfg, keys: se.Keys, admin: se.DB.Pool, runner: se.Runner, logger: se.Logger, limits: store, guard: e.guard}
		sd.sharedAuth = func() (*auth.Service, error) { return users() }
		built, err := buildServices(sd)
		require.NoError(t, err)
		var out []gateway.Service
		for _, b := range built {
			out = append(out, b.Service)
		}
		return out
	}, servicetest.Options{
		Gateway: gateway.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		Guard: func(se *servicetest.Env) gateway.ClientGuard {
			once := sync.OnceValues(func() (*auth.Service, error) {
				return newAuthService(serviceDeps{cfg: cfg, keys: se.Keys, admin: se.DB.Pool, runner: se.Runner, logger: se.Logger, limits: store})
			})
			users = once
			sec, err := newSecurity(cfg, t.TempDir(), se.DB.Pool, store, once, nil, se.Logger)
			require.NoError(t, err)
			e.monitor, e.guard = sec.monitor, sec.guard
			go func() { _ = sec.notifier.Run(ctx) }()
			return sec.guard
		},
	})
	e.sealer = audit.NewSealer(e.DB.Pool, audit.SealerConfig{Logger: e.Logger})
	e.pass(t) // the monitor starts after the newest entry
	return e
}

// pass seals the audit log and lets the monitor work off what is new, as serve's loop does.
func (e *alertEnv) pass(t *testing.T) {
	t.Helper()
	_, err := e.sealer.Seal(context.Background())
	require.NoError(t, err)
	require.NoError(t, e.monitor.Drain(context.Background()))
}

// from sends a request as if from the client address ip (the gateway trusts loopback as a
// proxy here).
func (e *alertEnv) from(t *testing.T, ip string, req servicetest.Request) servicetest.Response {
	t.Helper()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("X-Forwarded-For", ip)
	return e.Do(t, req)
}

// wrongPassword tries to sign in to email from ip with a wrong password.
func (e *alertEnv) wrongPassword(t *testing.T, ip, email string) {
	t.Helper()
	res := e.from(t, ip, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password",
		Body: map[string]any{"email": email, "password": "not-the-password"}})
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
}

// alertsOf reads the alerts of rule from the table, oldest first.
func (e *alertEnv) alertsOf(t *testing.T, rule string) []alerts.Alert {
	t.Helper()
	page, err := alerts.List(context.Background(), e.DB.Pool, alerts.Filter{Rule: rule, Limit: 500})
	require.NoError(t, err)
	out := page.Alerts
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// oneAlert requires exactly one alert of rule and returns it.
func (e *alertEnv) oneAlert(t *testing.T, rule string) alerts.Alert {
	t.Helper()
	list := e.alertsOf(t, rule)
	require.Len(t, list, 1, "alerts of %s: %+v", rule, list)
	return list[0]
}

// auditCount counts entries of action.
func (e *alertEnv) auditCount(t *testing.T, action string) int {
	t.Helper()
	var n int
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM goforward.audit_log WHERE action = $1`, action).Scan(&n))
	return n
}

// waitAudit polls until an entry of action exists and returns its details.
func (e *alertEnv) waitAudit(t *testing.T, action string) map[string]any {
	t.Helper()
	var details map[string]any
	require.Eventually(t, func() bool {
		err := e.DB.Pool.QueryRow(context.Background(), `SELECT details FROM goforward.audit_log WHERE action = $1 ORDER BY id LIMIT 1`, action).Scan(&details)
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "no %s entry", action)
	return details
}
