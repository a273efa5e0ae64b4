package auth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

// auditEntry is the part of a goforward.audit_log row these tests look at.
type auditEntry struct {
	ActorType, ActorID, ResourceType, ResourceID, Outcome, Severity, IP string
	HasRequestID                                                        bool
}

func (e *env) auditEntries(t *testing.T, action string) []auditEntry {
	t.Helper()
	rows, err := e.DB.Pool.Query(context.Background(), `SELECT actor_type, actor_id, resource_type, resource_id, outcome,
  severity, coalesce(host(ip), ''), request_id <> '' FROM goforward.audit_log WHERE action = $1 ORDER BY id`, action)
	require.NoError(t, err)
	defer rows.Close()
	var out []auditEntry
	for rows.Next() {
		var a auditEntry
		require.NoError(t, rows.Scan(&a.ActorType, &a.ActorID, &a.ResourceType, &a.ResourceID, &a.Outcome, &a.Severity, &a.IP, &a.HasRequestID))
		out = append(out, a)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestSecurityEventsAreAuditEntries: auth's security events are entries of Go Forward's one
// audit log, with who acted, on what, and how it ended; the credential-stuffing detector reads
// them there; GoTrue's own audit log is still written.
func TestSecurityEventsAreAuditEntries(t *testing.T) {
	t.Parallel()
	e := fromAddresses(t, func(c *auth.Config) { c.DetectorAccounts = 2; c.DetectorWindow = 10 * time.Minute })
	email := emailFor(t, "audited")
	uid := userID(t, e.signUpConfirmed(t, email).AccessToken)

	status, code := e.signInFrom(t, "203.0.113.9", email, "wrong")
	require.Equal(t, http.StatusBadRequest, status, code)
	status, _ = e.signInFrom(t, "203.0.113.9", emailFor(t, "nobody"), "wrong")
	require.Equal(t, http.StatusBadRequest, status)
	status, body := e.admin(t, "PUT", "/auth/v1/admin/users/"+uid, map[string]any{"user_metadata": map[string]any{"plan": "pro"}})
	require.Equal(t, http.StatusOK, status, "%v", body)

	signIns := e.auditEntries(t, "auth.sign_in")
	require.NotEmpty(t, signIns)
	require.Equal(t, auditEntry{ActorType: "user", ActorID: uid, ResourceType: "user", ResourceID: uid, Outcome: "success",
		Severity: "info", IP: "127.0.0.1", HasRequestID: true}, signIns[0])

	failed := e.auditEntries(t, "auth.sign_in_failed")
	require.Len(t, failed, 2)
	require.Equal(t, auditEntry{ActorType: "anon", ResourceType: "user", ResourceID: uid, Outcome: "denied",
		Severity: "info", IP: "203.0.113.9", HasRequestID: true}, failed[0])
	require.Equal(t, "", failed[1].ResourceID, "an unknown address has no account")

	require.Equal(t, []auditEntry{{ActorType: "system", ResourceType: "ip", ResourceID: "203.0.113.9", Outcome: "success",
		Severity: "critical", IP: "203.0.113.9", HasRequestID: true}}, e.auditEntries(t, "auth.suspicious_activity"),
		"two accounts failed from one address: the detector counted the audit log's entries")

	require.Equal(t, []auditEntry{{ActorType: "service_role", ResourceType: "user", ResourceID: uid, Outcome: "success",
		Severity: "info", IP: "127.0.0.1", HasRequestID: true}}, e.auditEntries(t, "auth.admin_user_updated"))

	require.Positive(t, e.count(t, `SELECT count(*) FROM auth.audit_log_entries WHERE payload->>'action' = 'login'`),
		"GoTrue's audit log is kept for compatibility")
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM pg_class WHERE oid = to_regclass('auth.security_events')`),
		"the old table is gone")
}
