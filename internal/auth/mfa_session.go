package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// Second factors are guarded like passwords: every wrong TOTP, SMS or backup code counts
// against the user under one lockout subject, and auth.lockout's rules lock further
// verifications (429 user_locked) after LockoutAttempts in a row. A challenge is also voided
// after OTPMaxAttempts wrong codes, so an attacker holding a session gets a handful of
// guesses per challenge and per lock period, not fifteen a minute for ever.

// mfaLockSubject keys a user's MFA failures in auth.sign_in_lockouts, apart from password
// failures.
func mfaLockSubject(userID string) string { return "mfa:" + userID }

// admitSecondFactor is what every second-factor check passes before a code is compared: the
// user is not banned, the per-user MFA rate limit has room, and no MFA lock runs.
func (s *Service) admitSecondFactor(r *http.Request, u *user) error {
	if u.banned(s.now()) {
		return badRequest(CodeUserBanned, "User is banned")
	}
	if err := s.limit(r, s.limits.mfa, "user:"+u.ID); err != nil {
		return err
	}
	return s.checkMFALock(r.Context(), u.ID)
}

// checkMFALock refuses verification while the user's MFA lock runs.
func (s *Service) checkMFALock(ctx context.Context, userID string) error {
	lock, err := s.lockStateOf(ctx, mfaLockSubject(userID))
	if err != nil {
		return internalError("Database error reading lockout", err)
	}
	if now := s.now(); lock.locked(now) {
		return mfaLockedError(*lock.LockedUntil, now)
	}
	return nil
}

func mfaLockedError(until, now time.Time) *httpx.AppError {
	wait := until.Sub(now)
	secs := int((wait + time.Second - 1) / time.Second)
	return tooManyRequests(CodeUserLocked, fmt.Sprintf("Too many failed verification attempts. Try again in %d seconds.", secs), wait)
}

// wrongMFACode records a wrong code within tx (which the caller commits): one more failure
// on the challenge, voided at OTPMaxAttempts (challengeID is "" for backup codes), one more
// towards the user's MFA lock, and a security event. It returns the end of the lock this
// failure started, if any.
func (s *Service) wrongMFACode(ctx context.Context, tx pgx.Tx, u *user, challengeID, method string, client clientInfo, now time.Time) (*time.Time, error) {
	if challengeID != "" {
		var failures int
		if err := tx.QueryRow(ctx, `UPDATE auth.mfa_challenges SET failed_attempts = failed_attempts + 1 WHERE id = $1
			RETURNING failed_attempts`, challengeID).Scan(&failures); err != nil {
			return nil, fmt.Errorf("count wrong MFA code: %w", err)
		}
		if failures >= s.cfg.OTPMaxAttempts {
			if _, err := tx.Exec(ctx, `DELETE FROM auth.mfa_challenges WHERE id = $1`, challengeID); err != nil {
				return nil, fmt.Errorf("void challenge: %w", err)
			}
		}
	}
	lockedUntil, lockouts, err := s.countFailure(ctx, tx, mfaLockSubject(u.ID), u.ID, now)
	if err != nil {
		return nil, err
	}
	details := map[string]any{"method": method}
	if challengeID != "" {
		details["challenge_id"] = challengeID
	}
	if err := (securityEvent{UserID: u.ID, Type: eventMFAVerificationFailed, Details: details}).record(ctx, tx, client, now); err != nil {
		return nil, err
	}
	if lockedUntil == nil {
		return nil, nil
	}
	ev := securityEvent{UserID: u.ID, Type: eventAccountLocked, Severity: severityWarning, Details: map[string]any{
		"scope": "mfa", "locked_until": *lockedUntil, "lockouts": lockouts,
	}}
	if err := ev.record(ctx, tx, client, now); err != nil {
		return nil, err
	}
	return lockedUntil, nil
}

// upgradeSession raises the caller's session to aal2 after a second factor (method, and the
// factor's id unless it was a backup code), as GoTrue's MFA verification does: the method
// joins the session's amr, the refresh token rotates, and the user's other sessions still at
// aal1 end. It returns the new token response.
func (s *Service) upgradeSession(ctx context.Context, tx pgx.Tx, c *caller, method, factorID string, now time.Time) (*sessionResponse, error) {
	sessionID := c.Session.ID
	refresh := rand.Text()
	b := &pgx.Batch{}
	b.Queue(`UPDATE auth.sessions SET aal = 'aal2', factor_id = coalesce(nullif($2, '')::uuid, factor_id), updated_at = $3
		WHERE id = $1`, sessionID, factorID, now)
	b.Queue(`INSERT INTO auth.mfa_amr_claims (id, session_id, created_at, updated_at, authentication_method)
		VALUES ($1, $2, $3, $3, $4)
		ON CONFLICT (session_id, authentication_method) DO UPDATE SET created_at = $3, updated_at = $3`,
		newID(), sessionID, now, method)
	b.Queue(`WITH old AS (
			UPDATE auth.refresh_tokens SET revoked = true, updated_at = $3 WHERE session_id = $1 AND NOT revoked RETURNING token)
		INSERT INTO auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, parent, session_id)
		SELECT $4, $2, false, $3, $3, (SELECT max(token) FROM old), $1`, sessionID, c.User.ID, now, sha256Hex(refresh))
	b.Queue(`DELETE FROM auth.sessions WHERE user_id = $1 AND id <> $2 AND (aal IS NULL OR aal < 'aal2')`, c.User.ID, sessionID)
	if err := runBatch(ctx, tx, b); err != nil {
		return nil, fmt.Errorf("upgrade session: %w", err)
	}
	var amrRaw []byte
	u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+`, `+amrColumn+`
		FROM auth.users u JOIN auth.sessions s ON s.user_id = u.id WHERE s.id = $1`, sessionID), &amrRaw)
	if err != nil {
		return nil, fmt.Errorf("reload session: %w", err)
	}
	amr, err := decodeAMR(amrRaw)
	if err != nil {
		return nil, err
	}
	if err := clearFailures(ctx, tx, mfaLockSubject(u.ID)); err != nil {
		return nil, err
	}
	return s.respond(ctx, u, sessionID, aal2, amr, refresh, now)
}
