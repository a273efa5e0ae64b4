package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// recordBadCode counts a code typed for v.Address against that address's pending tokens of
// the verification type's kinds, and voids those that reached OTPMaxAttempts. A link secret
// (v.Address "") names no token to count against.
func (s *Service) recordBadCode(ctx context.Context, v verification, client clientInfo) error {
	if v.Address == "" {
		return nil
	}
	return s.countWrongCode(ctx, "relates_to", v.Address, tokenTypesFor(v.Type), v.Type, client)
}

// recordBadNonce counts a wrong reauthentication nonce against the user's pending one, which
// is a short code like the others and is voided the same way.
func (s *Service) recordBadNonce(ctx context.Context, userID string, client clientInfo) error {
	return s.countWrongCode(ctx, "user_id", userID, []string{tokenReauthentication}, "reauthentication", client)
}

// countWrongCode adds a failed attempt to the pending tokens of the given kinds whose column
// (relates_to or user_id, never user input) equals key, deletes those that reached
// OTPMaxAttempts, and records an otp_failed event. It writes outside the request's
// transaction, which rolls back on the failure being counted.
func (s *Service) countWrongCode(ctx context.Context, column, key string, types []string, label string, client clientInfo) error {
	now := s.now()
	match := column + ` = $1 AND token_type::text = ANY($2)`
	var userID string
	err := s.pool.QueryRow(ctx, `UPDATE auth.one_time_tokens SET failed_attempts = failed_attempts + 1, updated_at = $3
		WHERE `+match+` RETURNING user_id`, key, types, now).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("count wrong code: %w", err)
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM auth.one_time_tokens WHERE `+match+` AND failed_attempts >= $3`, key, types, s.cfg.OTPMaxAttempts)
	securityEvent{UserID: userID, Type: eventOTPFailed, Details: map[string]any{"type": label}}.queue(b, client, now)
	return runBatch(ctx, s.pool, b)
}
