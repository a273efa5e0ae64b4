package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// detect flags credential stuffing: when the client's IP has failed to sign in to
// DetectorAccounts distinct accounts (known or not) within DetectorWindow, as the audit log's
// auth.sign_in_failed entries tell, it writes one
// suspicious_activity event (severity critical) for that IP and window and logs a warning. It
// runs in the transaction that recorded the failure; an advisory lock on the IP keeps two
// concurrent failures from raising two alerts.
func (s *Service) detect(ctx context.Context, tx pgx.Tx, c clientInfo, now time.Time) error {
	if s.cfg.DetectorAccounts <= 0 || !c.IP.IsValid() {
		return nil
	}
	since := now.Add(-s.cfg.DetectorWindow)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('goforward.auth.detector:' || $1, 0))`, c.IP.String()); err != nil {
		return fmt.Errorf("detector lock: %w", err)
	}
	var accounts int
	var alerted bool
	// The actions are constants in the text so that the planner can prove the partial index
	// audit_log_sign_in_failed_idx applies, prepared or not.
	err := tx.QueryRow(ctx, `SELECT
			(SELECT count(DISTINCT coalesce(nullif(resource_id, ''), details ->> 'identifier_hash')) FROM goforward.audit_log
				WHERE ip = $1 AND action = 'auth.`+eventSignInFailed+`' AND occurred_at > $2),
			EXISTS (SELECT 1 FROM goforward.audit_log WHERE ip = $1 AND action = 'auth.`+eventSuspiciousActivity+`' AND occurred_at > $2)`,
		c.IP, since).Scan(&accounts, &alerted)
	if err != nil {
		return fmt.Errorf("detector count: %w", err)
	}
	if accounts < s.cfg.DetectorAccounts || alerted {
		return nil
	}
	s.logger.WarnContext(ctx, "many failed sign-ins across accounts from one address",
		"ip", c.IP.String(), "accounts", accounts, "window", s.cfg.DetectorWindow.String())
	ev := securityEvent{Type: eventSuspiciousActivity, Severity: severityCritical, Details: map[string]any{
		"reason":   "failed_sign_ins_across_accounts",
		"accounts": accounts,
		"window":   s.cfg.DetectorWindow.String(),
	}}
	return ev.record(ctx, tx, c, now)
}
