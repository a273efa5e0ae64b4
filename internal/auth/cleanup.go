package auth

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// cleanupInterval is how often Run removes expired rows.
const cleanupInterval = 10 * time.Minute

// cleanupLoop removes, every cleanupInterval, what can no longer be used: one-time tokens
// past the longer OTP lifetime, flow states older than a day (GoTrue keeps them as long),
// unverified-password records of users confirmed some other way (an administrator's
// email_confirm), lockout records neither locked nor touched for twice the longest lock,
// MFA challenges past their lifetime, factors enrolled a day ago and never verified, send
// records older than MaxFrequency and sign-in addresses no longer known.
func (s *Service) cleanupLoop(ctx context.Context) error {
	ticker := time.NewTicker(cleanupInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := s.cleanup(ctx); err != nil && ctx.Err() == nil {
				s.logger.WarnContext(ctx, "auth cleanup failed", "error", err)
			}
		}
	}
}

func (s *Service) cleanup(ctx context.Context) error {
	now := s.now()
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM auth.one_time_tokens WHERE created_at < $1`, now.Add(-max(s.cfg.EmailOTPExpiry, s.cfg.SMSOTPExpiry)))
	b.Queue(`DELETE FROM auth.flow_state WHERE created_at < $1`, now.Add(-24*time.Hour))
	b.Queue(`DELETE FROM auth.unverified_passwords p USING auth.users u
		WHERE u.id = p.user_id AND (u.email_confirmed_at IS NOT NULL OR u.phone_confirmed_at IS NOT NULL)`)
	b.Queue(`DELETE FROM auth.sign_in_lockouts WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $2)`,
		now.Add(-2*s.cfg.LockoutMaxDuration), now)
	b.Queue(`DELETE FROM auth.mfa_challenges WHERE created_at < $1`, now.Add(-challengeLifetime))
	b.Queue(`DELETE FROM auth.send_frequency WHERE sent_at < $1`, now.Add(-max(s.cfg.MaxFrequency, 0)))
	b.Queue(`DELETE FROM auth.sign_in_addresses WHERE last_sign_in_at < $1`, now.Add(-knownAddressLifetime))
	b.Queue(`DELETE FROM auth.mfa_factors WHERE status = 'unverified' AND created_at < $1`, now.Add(-24*time.Hour))
	return runBatch(ctx, s.pool, b)
}
