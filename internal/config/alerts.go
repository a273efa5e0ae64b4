package config

import (
	"net/url"
	"time"
)

// AlertsConfig configures the security monitor: the rules it runs over the audit log, where
// its alerts go and what they do.
type AlertsConfig struct {
	Enabled   bool          `koanf:"enabled" doc:"Run the security monitor in serve (one node at a time, elected through a PostgreSQL advisory lock)."`
	Interval  time.Duration `koanf:"interval" doc:"How often the monitor reads the audit log entries written since its last pass."`
	BatchSize int           `koanf:"batch_size" doc:"Most audit entries the monitor reads in one step; a backlog is worked off in steps of this size."`
	// VerifyEvery is how often the monitor runs audit verification for the audit_chain_broken rule.
	VerifyEvery time.Duration `koanf:"verify_every" doc:"How often the monitor verifies the audit chain (rule audit_chain_broken); 0 only watches the sealer's own audit.chain_broken entries."`
	Webhook     WebhookConfig `koanf:"webhook" doc:"An HTTP endpoint every new alert is posted to as signed JSON."`
	Email       AlertEmail    `koanf:"email" doc:"Alerts by e-mail to the system admins, through auth.smtp."`
	Rules       AlertRules    `koanf:"rules" doc:"The rules: each has a threshold of matching entries within a window, a severity and an action."`
}

// WebhookConfig is where alerts are posted.
type WebhookConfig struct {
	URL     string        `koanf:"url" doc:"URL alerts are POSTed to as JSON; empty sends none."`
	Secret  string        `koanf:"secret" redact:"value" doc:"Key of the X-Goforward-Signature header (HMAC-SHA256 over the timestamp and the body); required with url."`
	Timeout time.Duration `koanf:"timeout" doc:"Time allowed for one delivery attempt."`
	Retries int           `koanf:"retries" doc:"Further attempts after a failed delivery, with exponential backoff from 1s; a delivery that still fails is audited as alerts.webhook_failed."`
}

// AlertEmail sends alerts by e-mail.
type AlertEmail struct {
	SystemAdmins bool `koanf:"system_admins" doc:"Mail every new alert to every active system admin's address (needs auth.smtp.host)."`
}

// AlertRule is one rule's settings.
type AlertRule struct {
	Enabled        bool          `koanf:"enabled" doc:"Whether the rule runs."`
	Threshold      int           `koanf:"threshold" doc:"Matching entries (for credential_stuffing: distinct accounts) within window that raise the alert."`
	Window         time.Duration `koanf:"window" doc:"The window the threshold counts in."`
	Severity       string        `koanf:"severity" doc:"Severity of the alert: info, warning or critical."`
	Action         string        `koanf:"action" doc:"What the alert does: none, lock_account (bans the account for action_duration) or block_ip (the gateway refuses the address for action_duration)."`
	ActionDuration time.Duration `koanf:"action_duration" doc:"How long lock_account and block_ip last."`
}

// AlertRules are the monitor's rules.
type AlertRules struct {
	BruteForceAccount   AlertRule `koanf:"brute_force_account" doc:"Failed password and second-factor checks of one account (auth.sign_in_failed, auth.mfa_verification_failed, auth.account_locked)."`
	BruteForceIP        AlertRule `koanf:"brute_force_ip" doc:"Failed sign-ins from one client address."`
	CredentialStuffing  AlertRule `koanf:"credential_stuffing" doc:"Distinct accounts failing to sign in from one client address (and auth's own auth.suspicious_activity)."`
	AdminNewIP          AlertRule `koanf:"admin_new_ip" doc:"An admin signing in from an address none of its earlier sign-ins came from (its first sign-in sets the baseline)."`
	PrivilegeEscalation AlertRule `koanf:"privilege_escalation" doc:"An admin granting or changing a level it may not (cannot_grant_level, cannot_manage_admin), or refused a capability (admin.access_denied) threshold times."`
	UnauthorizedBurst   AlertRule `koanf:"unauthorized_burst" doc:"401 and 403 answers to one client address, counted by the gateway."`
	EmergencyAccessUsed AlertRule `koanf:"emergency_access_used" doc:"Anything done with an emergency access session."`
	AuditChainBroken    AlertRule `koanf:"audit_chain_broken" doc:"Audit verification failing, or the sealer finding the chain tampered with."`
}

func defaultAlerts() AlertsConfig {
	rule := func(threshold int, window time.Duration, severity, action string) AlertRule {
		return AlertRule{Enabled: true, Threshold: threshold, Window: window, Severity: severity, Action: action, ActionDuration: 15 * time.Minute}
	}
	return AlertsConfig{
		Enabled: true, Interval: 5 * time.Second, BatchSize: 1000, VerifyEvery: time.Hour,
		Webhook: WebhookConfig{Timeout: 10 * time.Second, Retries: 3},
		Rules: AlertRules{
			BruteForceAccount:   rule(20, 10*time.Minute, "warning", "none"),
			BruteForceIP:        rule(50, 10*time.Minute, "warning", "none"),
			CredentialStuffing:  rule(10, 10*time.Minute, "critical", "none"),
			AdminNewIP:          rule(1, 0, "warning", "none"),
			PrivilegeEscalation: rule(5, 10*time.Minute, "critical", "none"),
			UnauthorizedBurst:   rule(100, time.Minute, "warning", "none"),
			EmergencyAccessUsed: rule(1, 0, "critical", "none"),
			AuditChainBroken:    rule(1, 0, "critical", "none"),
		},
	}
}

// RuleList names each rule's settings, in the order of AlertRules.
func (r AlertRules) RuleList() []NamedAlertRule {
	return []NamedAlertRule{
		{"brute_force_account", r.BruteForceAccount}, {"brute_force_ip", r.BruteForceIP},
		{"credential_stuffing", r.CredentialStuffing}, {"admin_new_ip", r.AdminNewIP},
		{"privilege_escalation", r.PrivilegeEscalation}, {"unauthorized_burst", r.UnauthorizedBurst},
		{"emergency_access_used", r.EmergencyAccessUsed}, {"audit_chain_broken", r.AuditChainBroken},
	}
}

// NamedAlertRule is a rule's settings with its name.
type NamedAlertRule struct {
	Name string
	AlertRule
}

// actionsOf are the actions each rule may take: locking needs an account, blocking an address.
var actionsOf = map[string][]string{
	"brute_force_account":   {"none", "lock_account"},
	"brute_force_ip":        {"none", "block_ip"},
	"credential_stuffing":   {"none", "block_ip"},
	"admin_new_ip":          {"none", "lock_account"},
	"privilege_escalation":  {"none", "lock_account"},
	"unauthorized_burst":    {"none", "block_ip"},
	"emergency_access_used": {"none"},
	"audit_chain_broken":    {"none"},
}

func validateAlerts(errs *fieldErrors, a AlertsConfig) {
	if a.Enabled {
		positive(errs, "alerts.interval", a.Interval)
		if a.BatchSize <= 0 {
			errs.add("alerts.batch_size", "must be positive", a.BatchSize)
		}
	}
	notNegative(errs, "alerts.verify_every", a.VerifyEvery)
	if a.Webhook.URL != "" {
		if u, err := url.Parse(a.Webhook.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add("alerts.webhook.url", "must be an http(s) URL", a.Webhook.URL)
		}
		if a.Webhook.Secret == "" {
			errs.add("alerts.webhook.secret", "is required with alerts.webhook.url: receivers check the signature", "")
		}
		positive(errs, "alerts.webhook.timeout", a.Webhook.Timeout)
	}
	if a.Webhook.Retries < 0 || a.Webhook.Retries > 10 {
		errs.add("alerts.webhook.retries", "must be between 0 and 10", a.Webhook.Retries)
	}
	for _, r := range a.Rules.RuleList() {
		key := "alerts.rules." + r.Name
		if !r.Enabled {
			continue
		}
		if r.Threshold <= 0 {
			errs.add(key+".threshold", "must be positive", r.Threshold)
		}
		if r.Threshold > 1 {
			positive(errs, key+".window", r.Window)
		}
		oneOf(errs, key+".severity", r.Severity, []string{"info", "warning", "critical"})
		oneOf(errs, key+".action", r.Action, actionsOf[r.Name])
		if r.Action != "none" {
			positive(errs, key+".action_duration", r.ActionDuration)
		}
	}
}
