package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The rules' names, as configured under alerts.rules and stored in security_alerts.rule.
const (
	RuleBruteForceAccount   = "brute_force_account"
	RuleBruteForceIP        = "brute_force_ip"
	RuleCredentialStuffing  = "credential_stuffing"
	RuleAdminNewIP          = "admin_new_ip"
	RulePrivilegeEscalation = "privilege_escalation"
	RuleUnauthorizedBurst   = "unauthorized_burst"
	RuleEmergencyAccessUsed = "emergency_access_used"
	RuleAuditChainBroken    = "audit_chain_broken"
)

// ActionUnauthorizedBurst is the audit entry the gateway's guard writes when one client
// address has had Threshold 401/403 answers within Window.
const ActionUnauthorizedBurst = "gateway.unauthorized_burst"

// Rule is one rule's settings. A rule missing from Config.Rules does not run.
type Rule struct {
	Name string
	// Threshold matching entries within Window raise the alert (credential_stuffing: distinct
	// accounts); a rule about single events (admin_new_ip, emergency_access_used,
	// audit_chain_broken, unauthorized_burst) raises on every one.
	Threshold      int
	Window         time.Duration
	Severity       string
	Action         string // ActionNone, ActionLockAccount or ActionBlockIP
	ActionDuration time.Duration
}

// entry is what the rules read of an audit entry.
type entry struct {
	ID           int64
	At           time.Time
	ActorType    string
	ActorID      string
	ActorEmail   string
	Action       string
	ResourceType string
	ResourceID   string
	Outcome      string
	IP           string
	Details      map[string]any
}

// hit is one entry matching a rule, about one subject; target is what an action acts on (a
// user id for lock_account, an address for block_ip).
type hit struct {
	rule    string
	subject string
	target  string
	entry   entry
	// counted hits are checked against the threshold in the window before they raise.
	counted bool
	message string
	details map[string]any
}

var (
	bruteForceActions = []string{"auth.sign_in_failed", "auth.mfa_verification_failed"}
	escalationCodes   = map[string]bool{"cannot_grant_level": true, "cannot_manage_admin": true}
)

// match lists the rules e may count towards. The admin_new_ip rule needs the database and
// is decided in newAdminIP.
func (m *Monitor) match(e entry) []hit {
	var out []hit
	add := func(rule, subject, target, message string, counted bool, details map[string]any) {
		if _, ok := m.rules[rule]; ok && subject != "" {
			out = append(out, hit{rule: rule, subject: subject, target: target, entry: e, counted: counted, message: message, details: details})
		}
	}
	switch {
	case e.Action == "auth.sign_in_failed" || e.Action == "auth.mfa_verification_failed":
		if e.ResourceType == "user" && e.ResourceID != "" {
			add(RuleBruteForceAccount, "user:"+e.ResourceID, e.ResourceID, "Repeated failed sign-ins to one account", true,
				map[string]any{"user_id": e.ResourceID})
		}
		if e.IP != "" && e.Action == "auth.sign_in_failed" {
			add(RuleBruteForceIP, "ip:"+e.IP, e.IP, "Repeated failed sign-ins from one address", true, map[string]any{"ip": e.IP})
			add(RuleCredentialStuffing, "ip:"+e.IP, e.IP, "Failed sign-ins to many accounts from one address", true, map[string]any{"ip": e.IP})
		}
	case e.Action == "auth.account_locked" && e.ResourceType == "user" && e.ResourceID != "":
		// auth's own lockout already decided: the account is under attack.
		add(RuleBruteForceAccount, "user:"+e.ResourceID, e.ResourceID, "Repeated failed sign-ins to one account (auth locked it)", false,
			map[string]any{"user_id": e.ResourceID, "lockout": e.Details})
	case e.Action == "auth.suspicious_activity" && e.ResourceType == "ip":
		add(RuleCredentialStuffing, "ip:"+e.ResourceID, e.ResourceID, "Failed sign-ins to many accounts from one address (auth's detector)", false,
			map[string]any{"ip": e.ResourceID, "detector": e.Details})
	case e.Action == "admin.access_denied":
		add(RulePrivilegeEscalation, actorSubject(e), e.ActorID, "An admin repeatedly called routes its level does not allow", true,
			map[string]any{"actor_type": e.ActorType, "actor_id": e.ActorID, "actor_email": e.ActorEmail, "route": e.ResourceID})
	case e.Outcome == "denied" && len(e.Action) > 6 && e.Action[:6] == "admin." && escalationCodes[fmt.Sprint(e.Details["code"])]:
		add(RulePrivilegeEscalation, actorSubject(e), e.ActorID, "An admin tried to grant or change a level it does not hold", false,
			map[string]any{"actor_type": e.ActorType, "actor_id": e.ActorID, "actor_email": e.ActorEmail, "action": e.Action,
				"target": e.ResourceID, "code": e.Details["code"], "requested_level": e.Details["requested_level"]})
	case e.Action == ActionUnauthorizedBurst && e.IP != "":
		add(RuleUnauthorizedBurst, "ip:"+e.IP, e.IP, "Many 401/403 answers to one client address", false,
			map[string]any{"ip": e.IP, "burst": e.Details})
	}
	if e.ActorType == "emergency" && e.ActorID != "" {
		add(RuleEmergencyAccessUsed, "session:"+e.ActorID, "", "An emergency access session was used", false,
			map[string]any{"session_id": e.ActorID, "action": e.Action, "resource_type": e.ResourceType, "resource_id": e.ResourceID})
	}
	return out
}

func actorSubject(e entry) string {
	if e.ActorID != "" {
		return e.ActorType + ":" + e.ActorID
	}
	return e.ActorType
}

// windowCount is how many entries count towards h's rule in the window ending at h's entry.
// Each query is bounded by an index: failed sign-ins by address (audit_log_sign_in_failed_idx),
// by account (audit_log_resource_idx), refusals by actor (audit_log_actor_idx).
func (m *Monitor) windowCount(ctx context.Context, q Querier, h hit) (int64, error) {
	r := m.rules[h.rule]
	e := h.entry
	since := e.At.Add(-r.Window)
	var n int64
	var err error
	switch h.rule {
	case RuleBruteForceAccount:
		err = q.QueryRow(ctx, `SELECT count(*) FROM goforward.audit_log WHERE resource_type = 'user' AND resource_id = $1
  AND action = ANY($2) AND occurred_at > $3 AND id <= $4`, e.ResourceID, bruteForceActions, since, e.ID).Scan(&n)
	case RuleBruteForceIP:
		err = q.QueryRow(ctx, `SELECT count(*) FROM goforward.audit_log WHERE ip = $1::inet AND action = 'auth.sign_in_failed'
  AND occurred_at > $2 AND id <= $3`, e.IP, since, e.ID).Scan(&n)
	case RuleCredentialStuffing:
		err = q.QueryRow(ctx, `SELECT count(DISTINCT coalesce(nullif(resource_id, ''), details ->> 'identifier_hash'))
  FROM goforward.audit_log WHERE ip = $1::inet AND action = 'auth.sign_in_failed' AND occurred_at > $2 AND id <= $3`,
			e.IP, since, e.ID).Scan(&n)
	case RulePrivilegeEscalation:
		err = q.QueryRow(ctx, `SELECT count(*) FROM goforward.audit_log WHERE actor_id = $1 AND actor_type = $2
  AND action = 'admin.access_denied' AND occurred_at > $3 AND id <= $4`, e.ActorID, e.ActorType, since, e.ID).Scan(&n)
	default:
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("alerts: %s: count: %w", h.rule, err)
	}
	return n, nil
}

// newAdminIP reports whether an admin sign-in came from an address that admin never signed in
// from before, when it had signed in before at all (its first sign-in sets the baseline).
func (m *Monitor) newAdminIP(ctx context.Context, q Querier, e entry) (hit, bool, error) {
	if _, ok := m.rules[RuleAdminNewIP]; !ok || e.Action != "admin.sign_in" || e.IP == "" || e.ActorID == "" {
		return hit{}, false, nil
	}
	var before, fromHere bool
	err := q.QueryRow(ctx, `SELECT
  EXISTS (SELECT 1 FROM goforward.audit_log WHERE actor_id = $1 AND action = 'admin.sign_in' AND id < $2),
  EXISTS (SELECT 1 FROM goforward.audit_log WHERE actor_id = $1 AND action = 'admin.sign_in' AND id < $2 AND ip = $3::inet)`,
		e.ActorID, e.ID, e.IP).Scan(&before, &fromHere)
	if err != nil {
		return hit{}, false, fmt.Errorf("alerts: admin_new_ip: %w", err)
	}
	if !before || fromHere {
		return hit{}, false, nil
	}
	return hit{rule: RuleAdminNewIP, subject: "admin:" + e.ActorID + " ip:" + e.IP, target: e.ActorID, entry: e,
		message: "An admin signed in from an address it never used before",
		details: map[string]any{"user_id": e.ActorID, "email": e.ActorEmail, "ip": e.IP}}, true, nil
}

func decodeDetails(raw string) map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(raw), &m)
	return m
}
