package cli

import (
	"context"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/alerts"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/redistest"
	"github.com/goforward/goforward/internal/servicetest"
)

// Failed passwords to one account raise brute_force_account once the threshold is reached;
// further failures count on the same alert, which is posted (signed) and mailed once. With
// lock_account the account is banned: the right password is refused too.
func TestAlertBruteForceAccountLocksTheAccount(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, func(c *config.Config) {
		c.Alerts.Rules.BruteForceAccount.Action = "lock_account"
		c.Alerts.Rules.BruteForceAccount.ActionDuration = time.Hour
	})
	e.newAdmin(t, "root@example.com", "system_admin")
	victim := e.createUser(t, "victim@example.com")

	for range 2 {
		e.wrongPassword(t, "198.51.100.1", "victim@example.com")
	}
	e.pass(t)
	require.Empty(t, e.alertsOf(t, alerts.RuleBruteForceAccount), "below the threshold")

	e.wrongPassword(t, "198.51.100.2", "victim@example.com")
	e.pass(t)
	a := e.oneAlert(t, alerts.RuleBruteForceAccount)
	require.Equal(t, "user:"+victim, a.Subject)
	require.Equal(t, "warning", a.Severity)
	require.Equal(t, alerts.StatusOpen, a.Status)
	require.EqualValues(t, 1, a.Count)
	require.Equal(t, "lock_account", a.Action)
	require.NotNil(t, a.ActionUntil)

	posted := e.hook.waitFor(t, alerts.RuleBruteForceAccount)
	require.Equal(t, a.ID, posted.ID)
	mail := e.smtp.WaitFor(t, "root@example.com", 30*time.Second)
	require.Contains(t, mail.Subject, "brute_force_account")

	// Locked: the right password is refused as a banned user's.
	res := e.from(t, "198.51.100.1", servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password",
		Body: map[string]any{"email": "victim@example.com", "password": adminPassword}})
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	require.Equal(t, "user_banned", res.Header.Get("X-Sb-Error-Code"))
	require.Equal(t, 1, e.auditCount(t, "alerts.lock_account"))

	// More failures update the open alert instead of adding alerts or notifications.
	e.wrongPassword(t, "198.51.100.3", "victim@example.com")
	e.wrongPassword(t, "198.51.100.3", "victim@example.com")
	e.pass(t)
	again := e.oneAlert(t, alerts.RuleBruteForceAccount)
	require.Equal(t, a.ID, again.ID)
	require.EqualValues(t, 3, again.Count)
	require.True(t, again.LastSeen.After(a.LastSeen) || again.LastSeen.Equal(a.LastSeen))
	require.Equal(t, 1, e.hook.delivered(alerts.RuleBruteForceAccount))
}

// Failed sign-ins to many accounts from one address raise brute_force_ip and
// credential_stuffing; with block_ip the gateway then refuses that address, and only it.
func TestAlertBruteForceIPAndCredentialStuffingBlockTheAddress(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, func(c *config.Config) {
		c.Alerts.Rules.BruteForceIP.Action = "block_ip"
	})
	e.newAdmin(t, "super@example.com", "super_admin")
	for i := range 4 {
		e.wrongPassword(t, "203.0.113.9", "nobody"+strconv.Itoa(i)+"@example.com")
	}
	e.pass(t)
	ip := e.oneAlert(t, alerts.RuleBruteForceIP)
	require.Equal(t, "ip:203.0.113.9", ip.Subject)
	require.Equal(t, "block_ip", ip.Action)
	stuffing := e.oneAlert(t, alerts.RuleCredentialStuffing)
	require.Equal(t, "ip:203.0.113.9", stuffing.Subject)
	require.Equal(t, "critical", stuffing.Severity)
	require.EqualValues(t, 2, stuffing.Count, "the 3rd and 4th distinct accounts")

	res := e.from(t, "203.0.113.9", servicetest.Request{Method: "GET", Path: "/auth/v1/settings"})
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	require.JSONEq(t, `{"message":"Access from this address is temporarily blocked"}`, string(res.Body))
	require.NotEmpty(t, res.Header.Get("Retry-After"))
	res = e.from(t, "203.0.113.10", servicetest.Request{Method: "GET", Path: "/auth/v1/settings"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)

	// Resolving the alert lifts the block at once.
	token := e.session(t, "super@example.com")
	res = e.do(t, servicetest.Request{Method: "POST", Path: "/admin/v1/alerts/" + strconv.FormatInt(ip.ID, 10) + "/resolve", Token: token, Body: map[string]any{}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	res = e.from(t, "203.0.113.9", servicetest.Request{Method: "GET", Path: "/auth/v1/settings"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
}

// An admin signing in from an address none of its earlier sign-ins came from raises
// admin_new_ip; its first sign-in, and sign-ins from known addresses, do not.
func TestAlertAdminSignInFromANewAddress(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, nil)
	adminID := e.newAdmin(t, "ops@example.com", "super_admin")
	signIn := func(ip string) {
		res := e.from(t, ip, servicetest.Request{Method: "POST", Path: "/admin/v1/sessions", Key: "-",
			Body: map[string]any{"email": "ops@example.com", "password": adminPassword}})
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	}
	signIn("192.0.2.1")
	signIn("192.0.2.1")
	e.pass(t)
	require.Empty(t, e.alertsOf(t, alerts.RuleAdminNewIP))

	signIn("192.0.2.77")
	e.pass(t)
	a := e.oneAlert(t, alerts.RuleAdminNewIP)
	require.Equal(t, "admin:"+adminID+" ip:192.0.2.77", a.Subject)
	require.Contains(t, string(a.Details), `"email":"ops@example.com"`)
	e.hook.waitFor(t, alerts.RuleAdminNewIP)
}

// A super admin granting super_admin (a level it does not hold) raises privilege_escalation
// at once; a regular admin refused a capability does once it happened threshold times.
func TestAlertPrivilegeEscalation(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, nil)
	superID := e.newAdmin(t, "super@example.com", "super_admin")
	regularID := e.newAdmin(t, "regular@example.com", "regular_admin")
	super := e.session(t, "super@example.com")
	regular := e.session(t, "regular@example.com")

	res := e.do(t, servicetest.Request{Method: "POST", Path: "/admin/v1/admins", Token: super,
		Body: map[string]any{"email": "new@example.com", "password": adminPassword, "level": "super_admin"}})
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	require.Equal(t, "cannot_grant_level", jsonOf(t, res)["error_code"])
	e.pass(t)
	a := e.oneAlert(t, alerts.RulePrivilegeEscalation)
	require.Equal(t, "admin:"+superID, a.Subject)
	require.Equal(t, "critical", a.Severity)
	require.Contains(t, string(a.Details), `"requested_level":"super_admin"`)

	res = e.do(t, servicetest.Request{Method: "GET", Path: "/admin/v1/audit/verify", Token: regular})
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	e.pass(t)
	require.Len(t, e.alertsOf(t, alerts.RulePrivilegeEscalation), 1, "one refusal is below the threshold")
	res = e.do(t, servicetest.Request{Method: "GET", Path: "/admin/v1/alerts", Token: regular})
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	e.pass(t)
	list := e.alertsOf(t, alerts.RulePrivilegeEscalation)
	require.Len(t, list, 2)
	require.Equal(t, "admin:"+regularID, list[1].Subject)
}

// Bursts of 401s from one client are counted by the gateway's guard and raise
// unauthorized_burst; with block_ip the address is refused afterwards.
func TestAlertUnauthorizedBurstBlocksTheClient(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, func(c *config.Config) {
		c.Alerts.Rules.UnauthorizedBurst.Action = "block_ip"
	})
	for range 4 {
		res := e.from(t, "198.51.100.44", servicetest.Request{Method: "GET", Path: "/auth/v1/settings", Key: "not-a-key"})
		require.Equal(t, http.StatusUnauthorized, res.Status)
	}
	e.pass(t)
	require.Empty(t, e.alertsOf(t, alerts.RuleUnauthorizedBurst))
	res := e.from(t, "198.51.100.44", servicetest.Request{Method: "GET", Path: "/auth/v1/settings", Key: "not-a-key"})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	// Another address is counted on its own.
	res = e.from(t, "198.51.100.45", servicetest.Request{Method: "GET", Path: "/auth/v1/settings", Key: "not-a-key"})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	e.pass(t)
	a := e.oneAlert(t, alerts.RuleUnauthorizedBurst)
	require.Equal(t, "ip:198.51.100.44", a.Subject)

	res = e.from(t, "198.51.100.44", servicetest.Request{Method: "GET", Path: "/auth/v1/settings"})
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	res = e.from(t, "198.51.100.45", servicetest.Request{Method: "GET", Path: "/auth/v1/settings"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
}

// Anything done with an emergency access session raises emergency_access_used, one alert per
// session however much it does.
func TestAlertEmergencyAccessUsed(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, nil)
	user := e.createUser(t, "someone@example.com")
	opened, err := adminSessions(e.cfg).Create(context.Background(), e.DB.Pool, access.NewSession{
		Kind: access.KindEmergency, Level: access.SystemAdmin, Capabilities: access.For(access.SystemAdmin, nil, nil),
		Reason: "test", Lifetime: time.Hour,
	})
	require.NoError(t, err)
	e.pass(t)
	require.Empty(t, e.alertsOf(t, alerts.RuleEmergencyAccessUsed), "issuing it is the CLI's own alert")
	for range 2 {
		res := e.do(t, servicetest.Request{Method: "POST", Path: "/admin/v1/users/" + user + "/logout", Token: opened.Token, Body: map[string]any{}})
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	}
	e.pass(t)
	a := e.oneAlert(t, alerts.RuleEmergencyAccessUsed)
	require.Equal(t, "session:"+opened.ID, a.Subject)
	require.EqualValues(t, 2, a.Count)
	e.hook.waitFor(t, alerts.RuleEmergencyAccessUsed)
}

// Verification failing raises audit_chain_broken.
func TestAlertAuditChainBroken(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, nil)
	e.createUser(t, "someone@example.com")
	e.pass(t)
	got, err := e.monitor.Verify(context.Background())
	require.NoError(t, err)
	require.Nil(t, got, "an intact chain raises nothing")

	ctx := context.Background()
	tx, err := e.DB.Pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE goforward.audit_log SET actor_email = 'someone-else@example.com'
WHERE id = (SELECT min(entry_id) FROM goforward.audit_chain)`)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))

	got, err = e.monitor.Verify(ctx)
	require.NoError(t, err)
	require.NotNil(t, got)
	a := e.oneAlert(t, alerts.RuleAuditChainBroken)
	require.Equal(t, "audit_log", a.Subject)
	require.Contains(t, string(a.Details), `"problem":"edited"`)
	e.hook.waitFor(t, alerts.RuleAuditChainBroken)
}

// Two monitors stepping at once over the same entries raise one alert, counted once.
func TestAlertMonitorsDoNotDoubleCount(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, nil)
	for i := range 3 {
		e.wrongPassword(t, "198.51.100.7", "nobody"+strconv.Itoa(i)+"@example.com")
	}
	other := alerts.NewMonitor(alerts.Config{Rules: []alerts.Rule{{Name: alerts.RuleCredentialStuffing, Threshold: 3, Window: 10 * time.Minute, Severity: "critical"}}},
		alerts.Deps{Pool: e.DB.Pool})
	ctx := context.Background()
	_, err := e.sealer.Seal(ctx)
	require.NoError(t, err)
	// Hold the monitor's position so that both monitors start their step before either reads.
	hold, err := e.DB.Pool.Begin(ctx)
	require.NoError(t, err)
	defer hold.Rollback(ctx)
	_, err = hold.Exec(ctx, `SELECT last_entry_id FROM goforward.security_monitor FOR UPDATE`)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for _, m := range []*alerts.Monitor{e.monitor, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, m.Drain(ctx))
		}()
	}
	require.Eventually(t, func() bool {
		var waiting int
		err := e.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return err == nil && waiting == 2
	}, 30*time.Second, 5*time.Millisecond, "both monitors wait for the position")
	require.NoError(t, hold.Commit(ctx))
	wg.Wait()
	a := e.oneAlert(t, alerts.RuleCredentialStuffing)
	require.EqualValues(t, 1, a.Count)
}

// A webhook that keeps failing is retried and the failure audited; one that fails once gets
// the alert on the retry. The alert is in the table either way.
func TestAlertWebhookRetriesAndAuditsFailures(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, nil)
	user := e.createUser(t, "someone@example.com")
	e.hook.fail.Store(2) // both attempts of the first alert
	opened, err := adminSessions(e.cfg).Create(context.Background(), e.DB.Pool, access.NewSession{
		Kind: access.KindEmergency, Level: access.SystemAdmin, Capabilities: access.For(access.SystemAdmin, nil, nil), Reason: "test", Lifetime: time.Hour,
	})
	require.NoError(t, err)
	res := e.do(t, servicetest.Request{Method: "POST", Path: "/admin/v1/users/" + user + "/logout", Token: opened.Token, Body: map[string]any{}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	e.pass(t)
	failed := e.waitAudit(t, "alerts.webhook_failed")
	require.EqualValues(t, 2, failed["attempts"])
	require.Equal(t, alerts.RuleEmergencyAccessUsed, failed["rule"])
	require.Contains(t, failed["error"], "500")
	require.EqualValues(t, 2, e.hook.attempts.Load())

	e.hook.fail.Store(1)
	e.wrongPassword(t, "198.51.100.8", "a@example.com")
	e.wrongPassword(t, "198.51.100.8", "b@example.com")
	e.wrongPassword(t, "198.51.100.8", "c@example.com")
	e.pass(t)
	e.hook.waitFor(t, alerts.RuleCredentialStuffing)
	require.EqualValues(t, 4, e.hook.attempts.Load())
	require.Equal(t, 1, e.auditCount(t, "alerts.webhook_failed"))
}

// /admin/v1/alerts lists with filters and pages, acknowledges and resolves, each change
// audited; a resolved alert is closed and the next hit opens a new one.
func TestAlertsAPI(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, nil)
	superID := e.newAdmin(t, "super@example.com", "super_admin")
	token := e.session(t, "super@example.com")
	for _, ip := range []string{"198.51.100.21", "198.51.100.22"} {
		for i := range 3 {
			e.wrongPassword(t, ip, "x"+strconv.Itoa(i)+"@example.com")
		}
	}
	e.pass(t)
	get := func(path string) (int, map[string]any) {
		res := e.do(t, servicetest.Request{Method: "GET", Path: "/admin/v1" + path, Token: token})
		return res.Status, jsonOf(t, res)
	}
	status, body := get("/alerts?rule=credential_stuffing&limit=1")
	require.Equal(t, http.StatusOK, status, "%v", body)
	page := body["alerts"].([]any)
	require.Len(t, page, 1)
	first := page[0].(map[string]any)
	require.Equal(t, "ip:198.51.100.22", first["subject"], "newest first")
	cursor := body["next_cursor"].(string)
	status, body = get("/alerts?rule=credential_stuffing&limit=1&cursor=" + cursor)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ip:198.51.100.21", body["alerts"].([]any)[0].(map[string]any)["subject"])
	require.Nil(t, body["next_cursor"])
	status, body = get("/alerts?bogus=1")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "validation_failed", body["error_code"])
	status, _ = get("/alerts/999999")
	require.Equal(t, http.StatusNotFound, status)

	id := strconv.FormatInt(int64(first["id"].(float64)), 10)
	post := func(path string) (int, map[string]any) {
		res := e.do(t, servicetest.Request{Method: "POST", Path: "/admin/v1" + path, Token: token, Body: map[string]any{}})
		return res.Status, jsonOf(t, res)
	}
	status, body = post("/alerts/" + id + "/acknowledge")
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "acknowledged", body["status"])
	require.Equal(t, superID, body["acknowledged_by"])
	status, body = get("/alerts?status=acknowledged")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["alerts"], 1)

	// An acknowledged alert still counts new hits.
	e.wrongPassword(t, "198.51.100.22", "x9@example.com")
	e.pass(t)
	status, body = get("/alerts/" + id)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 2, body["count"])

	status, body = post("/alerts/" + id + "/resolve")
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "resolved", body["status"])
	status, body = post("/alerts/" + id + "/acknowledge")
	require.Equal(t, http.StatusConflict, status)
	require.Equal(t, "alert_resolved", body["error_code"])
	require.Equal(t, 1, e.auditCount(t, "alerts.acknowledge"))
	require.Equal(t, 1, e.auditCount(t, "alerts.resolve"))

	e.wrongPassword(t, "198.51.100.22", "x10@example.com")
	e.pass(t)
	list := e.alertsOf(t, alerts.RuleCredentialStuffing)
	require.Len(t, list, 3, "a hit after resolving opens a new alert")
	require.Equal(t, alerts.StatusOpen, list[2].Status)
}

// goforward alerts list and ack work on the data directory's database, audited as the CLI.
func TestAlertsCommands(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, nil)
	for i := range 3 {
		e.wrongPassword(t, "198.51.100.31", "y"+strconv.Itoa(i)+"@example.com")
	}
	e.pass(t)
	a := e.oneAlert(t, alerts.RuleCredentialStuffing)
	dataDir := controlDataDir(t)
	recordServer(t, dataDir, e.DB.URL, false)
	run := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		code := Run(context.Background(), append(args, "--data-dir", dataDir), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := run("alerts", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "credential_stuffing")
	require.Contains(t, out, "ip:198.51.100.31")

	code, out, errOut = run("alerts", "ack", strconv.FormatInt(a.ID, 10))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "is acknowledged")
	code, out, _ = run("alerts", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "No alerts.")
	code, out, errOut = run("alerts", "list", "--status", "acknowledged", "--json")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, `"acknowledged_via": "cli"`)
	require.Equal(t, 1, e.auditCount(t, "alerts.acknowledge"))

	code, _, errOut = run("alerts", "ack", "999999")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no alert has the id 999999")
}

// An entry that commits after a later one is still evaluated: the monitor follows the
// sealer, which chains only ids below which every writer has finished.
func TestAlertMonitorDoesNotSkipLateCommits(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, nil)
	ctx := context.Background()
	late, err := e.DB.Pool.Begin(ctx)
	require.NoError(t, err)
	defer late.Rollback(ctx)
	require.NoError(t, audit.Record(ctx, late, audit.Entry{Actor: audit.Actor{Type: audit.ActorEmergency, ID: "late-session"},
		Action: "admin.user.sign_out"}))
	e.createUser(t, "someone@example.com") // later ids, committed first
	e.pass(t)
	require.Empty(t, e.alertsOf(t, alerts.RuleEmergencyAccessUsed))
	require.NoError(t, late.Commit(ctx))
	e.pass(t)
	require.Equal(t, "session:late-session", e.oneAlert(t, alerts.RuleEmergencyAccessUsed).Subject)
}

// With Redis, an address the monitor blocked on one node is refused by every node.
func TestAlertBlockIsSharedThroughRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	storeOf := func() *ratelimit.Store {
		client := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { client.Close() })
		return ratelimit.NewStore(ratelimit.StoreConfig{Redis: client})
	}
	e := newAlertEnv(t, func(c *config.Config) {
		c.Alerts.Rules.UnauthorizedBurst.Action = "block_ip"
	}, storeOf())
	// A second node: its own gateway and guard, the same Redis.
	other := servicetest.New(t, func(*servicetest.Env) []gateway.Service { return nil }, servicetest.Options{
		Gateway: gateway.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		Guard: func(se *servicetest.Env) gateway.ClientGuard {
			return alerts.NewGuard(alerts.GuardConfig{}, storeOf(), se.DB.Pool, se.Logger)
		},
	})
	fromOther := func(ip string) int {
		return other.Do(t, servicetest.Request{Method: "GET", Path: "/nothing-here", Header: http.Header{"X-Forwarded-For": {ip}}}).Status
	}
	require.Equal(t, http.StatusNotFound, fromOther("198.51.100.60"))
	for range 5 {
		res := e.from(t, "198.51.100.60", servicetest.Request{Method: "GET", Path: "/auth/v1/settings", Key: "not-a-key"})
		require.Equal(t, http.StatusUnauthorized, res.Status)
	}
	e.pass(t)
	e.oneAlert(t, alerts.RuleUnauthorizedBurst)
	require.Eventually(t, func() bool { return fromOther("198.51.100.60") == http.StatusForbidden }, 30*time.Second, 20*time.Millisecond,
		"the other node refuses it too, within a second")
	require.Equal(t, http.StatusNotFound, fromOther("198.51.100.61"))

	// goforward alerts resolve lifts it through Redis, for both nodes.
	dataDir := controlDataDir(t)
	recordServer(t, dataDir, e.DB.URL, false)
	cfgFile := filepath.Join(t.TempDir(), "goforward.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte("redis:\n  url: redis://"+srv.Addr+"\n"), 0o600))
	var stdout, stderr strings.Builder
	id := strconv.FormatInt(e.oneAlert(t, alerts.RuleUnauthorizedBurst).ID, 10)
	require.Equal(t, 0, Run(context.Background(), []string{"alerts", "resolve", id, "--data-dir", dataDir, "--config", cfgFile}, &stdout, &stderr), stderr.String())
	require.Eventually(t, func() bool { return fromOther("198.51.100.60") == http.StatusNotFound }, 30*time.Second, 20*time.Millisecond)
	res := e.from(t, "198.51.100.60", servicetest.Request{Method: "GET", Path: "/auth/v1/settings"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
}

// auth's own lockout is folded in: the account_locked entry raises brute_force_account at
// once, below the rule's own threshold.
func TestAlertBruteForceAccountFromAuthsLockout(t *testing.T) {
	t.Parallel()
	e := newAlertEnv(t, func(c *config.Config) { c.Alerts.Rules.BruteForceAccount.Threshold = 20 })
	victim := e.createUser(t, "locked@example.com")
	for range 4 {
		e.wrongPassword(t, "198.51.100.90", "locked@example.com")
	}
	e.pass(t)
	require.Empty(t, e.alertsOf(t, alerts.RuleBruteForceAccount))
	// The fifth wrong password from one address is auth.lockout.attempts: auth locks (429).
	res := e.from(t, "198.51.100.90", servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password",
		Body: map[string]any{"email": "locked@example.com", "password": "not-the-password"}})
	require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
	e.pass(t)
	a := e.oneAlert(t, alerts.RuleBruteForceAccount)
	require.Equal(t, "user:"+victim, a.Subject)
	require.Contains(t, string(a.Details), `"lockout"`)
}
