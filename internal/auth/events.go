package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/audit"
)

// Types of security events (actions "auth.<type>" of the audit log).
const (
	eventSignIn             = "sign_in"
	eventSignInFailed       = "sign_in_failed"
	eventAccountLocked      = "account_locked"
	eventSignUp             = "sign_up"
	eventPasswordChanged    = "password_changed"
	eventEmailChanged       = "email_changed"
	eventPhoneChanged       = "phone_changed"
	eventRecoveryRequested  = "recovery_requested"
	eventOTPFailed          = "otp_failed"
	eventTokenReused        = "refresh_token_reused"
	eventLogout             = "logout"
	eventSuspiciousActivity = "suspicious_activity"

	eventMFAEnrolled           = "mfa_enrolled"
	eventMFAVerified           = "mfa_verified"
	eventMFAVerificationFailed = "mfa_verification_failed"
	eventMFAUnenrolled         = "mfa_unenrolled"
	eventBackupCodesGenerated  = "backup_codes_generated"
	eventBackupCodesDeleted    = "backup_codes_deleted"
	eventBackupCodeUsed        = "backup_code_used"

	eventAdminUserCreated   = "admin_user_created"
	eventAdminUserUpdated   = "admin_user_updated"
	eventAdminUserBanned    = "admin_user_banned"
	eventAdminUserUnbanned  = "admin_user_unbanned"
	eventAdminUserDeleted   = "admin_user_deleted"
	eventAdminFactorDeleted = "admin_factor_deleted"
	eventAdminLinkGenerated = "admin_link_generated"
	eventUserInvited        = "user_invited"
)

// Severities of security events.
const (
	severityInfo     = audit.Info
	severityWarning  = audit.Warning
	severityCritical = audit.Critical
)

// securityEvent is one of auth's security events. It is written to Go Forward's audit log
// (goforward.audit_log) as the action "auth.<type>" on the user concerned, in the transaction
// of the change it records; GoTrue's own auth.audit_log_entries is written beside it.
type securityEvent struct {
	UserID   string // "" when no account is involved (a failed sign-in for an unknown address)
	Type     string
	Severity string // "" means info
	Details  map[string]any
	// Actor overrides who acted; nil derives it from Type (see entry).
	Actor *audit.Actor
}

// deniedEvents record a refused attempt: their outcome is denied and, since the client
// proved nothing, their actor is anonymous.
var deniedEvents = map[string]bool{
	eventSignInFailed: true, eventOTPFailed: true, eventAccountLocked: true, eventTokenReused: true,
	eventMFAVerificationFailed: true,
}

// entry is the event as an audit entry.
func (e securityEvent) entry(c clientInfo, now time.Time) audit.Entry {
	en := audit.Entry{
		OccurredAt: now, Action: "auth." + e.Type, Severity: e.Severity, Details: e.Details,
		Client: audit.Client{IP: c.IP, UserAgent: c.UserAgent, RequestID: c.RequestID},
		Actor:  audit.Actor{Type: audit.ActorUser, ID: e.UserID},
	}
	if e.UserID != "" {
		en.ResourceType, en.ResourceID = "user", e.UserID
	}
	if deniedEvents[e.Type] {
		en.Outcome = audit.Denied
		// A wrong MFA code comes from a signed-in user; the others from whoever asked.
		if e.Type != eventMFAVerificationFailed {
			en.Actor = audit.Actor{Type: audit.ActorAnon}
		}
	}
	switch {
	case e.Actor != nil:
		en.Actor = *e.Actor
	case e.Type == eventRecoveryRequested:
		en.Actor = audit.Actor{Type: audit.ActorAnon}
	case e.Type == eventUnverifiedPasswordRemoved:
		en.Actor = audit.Actor{Type: audit.ActorSystem}
	case e.Type == eventSuspiciousActivity:
		// The detector's finding is about an address, not an account.
		en.Actor = audit.Actor{Type: audit.ActorSystem}
		if c.IP.IsValid() {
			en.ResourceType, en.ResourceID = "ip", c.IP.String()
		}
	}
	return en
}

// queue adds the event to a batch written with other changes.
func (e securityEvent) queue(b *pgx.Batch, c clientInfo, now time.Time) {
	audit.Queue(b, e.entry(c, now))
}

// record writes the event on its own.
func (e securityEvent) record(ctx context.Context, q querier, c clientInfo, now time.Time) error {
	return audit.Record(ctx, q, e.entry(c, now))
}

// Actions of auth.audit_log_entries, GoTrue's names, so that tools reading GoTrue's audit log
// understand these entries.
const (
	auditLogin                 = "login"
	auditLogout                = "logout"
	auditSignedUp              = "user_signedup"
	auditRepeatedSignUp        = "user_repeated_signup"
	auditConfirmationRequested = "user_confirmation_requested"
	auditRecoveryRequested     = "user_recovery_requested"
	auditReauthenticate        = "user_reauthenticate_requested"
	auditUserModified          = "user_modified"
	auditPasswordUpdated       = "user_updated_password"
	auditTokenRevoked          = "token_revoked"
	auditUserInvited           = "user_invited"
	auditUserDeleted           = "user_deleted"
	auditFactorEnrolled        = "factor_in_progress"
	auditFactorUnenrolled      = "factor_unenrolled"
	auditFactorDeleted         = "factor_deleted"
	auditChallengeCreated      = "challenge_created"
	auditVerificationAttempted = "verification_attempted"
	auditBackupCodesGenerated  = "generate_recovery_codes"
	auditBackupCodesDeleted    = "recovery_codes_deleted"
	auditBackupCodeLogin       = "mfa_code_login"
)

// auditLogType is GoTrue's log_type of each action.
var auditLogType = map[string]string{
	auditLogin:                 "account",
	auditLogout:                "account",
	auditSignedUp:              "team",
	auditRepeatedSignUp:        "user",
	auditConfirmationRequested: "user",
	auditRecoveryRequested:     "user",
	auditReauthenticate:        "user",
	auditUserModified:          "user",
	auditPasswordUpdated:       "user",
	auditTokenRevoked:          "token",
	auditUserInvited:           "team",
	auditUserDeleted:           "team",
	auditFactorEnrolled:        "factor",
	auditFactorUnenrolled:      "factor",
	auditFactorDeleted:         "factor",
	auditChallengeCreated:      "factor",
	auditVerificationAttempted: "factor",
	auditBackupCodesGenerated:  "user",
	auditBackupCodesDeleted:    "recovery_codes",
	auditBackupCodeLogin:       "factor",
}

// auditArgs builds GoTrue's audit payload: {actor_id, actor_username, actor_via_sso, log_type,
// action, traits}.
func auditArgs(u *user, action string, traits map[string]any, c clientInfo, now time.Time) []any {
	username := u.Email
	if username == "" {
		username = u.Phone
	}
	payload := map[string]any{
		"actor_id":       u.ID,
		"actor_username": username,
		"actor_via_sso":  false,
		"log_type":       auditLogType[action],
		"action":         action,
	}
	if len(traits) > 0 {
		payload["traits"] = traits
	}
	ip := ""
	if c.IP.IsValid() {
		ip = c.IP.String()
	}
	return []any{newID(), payload, now, ip}
}

const insertAudit = `INSERT INTO auth.audit_log_entries (id, payload, created_at, ip_address) VALUES ($1, $2, $3, $4)`

func queueAudit(b *pgx.Batch, u *user, action string, traits map[string]any, c clientInfo, now time.Time) {
	b.Queue(insertAudit, auditArgs(u, action, traits, c, now)...)
}

func recordAudit(ctx context.Context, q querier, u *user, action string, traits map[string]any, c clientInfo, now time.Time) error {
	if _, err := q.Exec(ctx, insertAudit, auditArgs(u, action, traits, c, now)...); err != nil {
		return fmt.Errorf("record audit %s: %w", action, err)
	}
	return nil
}
