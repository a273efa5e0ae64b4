package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lockout (Go Forward, from the original design's SecurityMonitor): wrong passwords are
// counted per account; LockoutAttempts of them in a row lock it for LockoutDuration, doubled
// for every further lock up to LockoutMaxDuration. A correct password clears the count.
// Unknown addresses are counted and locked the same way, so the answer never tells whether an
// account exists.

// lockSubject keys a lockout record: the user when the account exists, else a hash of the
// address tried.
func lockSubject(u *user, address string) string {
	if u != nil {
		return "user:" + u.ID
	}
	return "id:" + sha256Hex(address)
}

// lockState is what sign-in needs to know about a subject's failures.
type lockState struct {
	LockedUntil *time.Time
	Failures    int // failed attempts since the last lock or success
	Lockouts    int
}

func (l lockState) locked(now time.Time) bool {
	return l.LockedUntil != nil && now.Before(*l.LockedUntil)
}

// any reports whether there is anything to clear after a successful sign-in.
func (l lockState) any() bool { return l.LockedUntil != nil || l.Failures > 0 || l.Lockouts > 0 }

func (s *Service) lockStateOf(ctx context.Context, subject string) (lockState, error) {
	var st lockState
	err := s.pool.QueryRow(ctx, `SELECT locked_until, failed_attempts, lockouts FROM auth.sign_in_lockouts
		WHERE subject = $1`, subject).Scan(&st.LockedUntil, &st.Failures, &st.Lockouts)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return lockState{}, fmt.Errorf("read lockout: %w", err)
	}
	return st, nil
}

// lockedError is the answer while a subject is locked: 429 user_locked, with Retry-After.
func lockedError(until, now time.Time) error {
	wait := until.Sub(now)
	secs := int((wait + time.Second - 1) / time.Second)
	return tooManyRequests(CodeUserLocked, fmt.Sprintf("Too many failed sign-in attempts. Try again in %d seconds.", secs), wait)
}

// failedSignIn records a wrong password (or unknown address) for subject, locks it when the
// count reaches LockoutAttempts, and runs the detector for the client's IP. It returns the
// end of the lock it just started, if any.
func (s *Service) failedSignIn(ctx context.Context, subject string, u *user, address string, c clientInfo) (*time.Time, error) {
	now := s.now()
	var lockedUntil *time.Time
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		userID := ""
		if u != nil {
			userID = u.ID
		}
		var (
			lockouts int
			err      error
		)
		if lockedUntil, lockouts, err = s.countFailure(ctx, tx, subject, userID, now); err != nil {
			return err
		}
		details := map[string]any{"identifier_hash": sha256Hex(address)[:16]}
		if err := (securityEvent{UserID: userID, Type: eventSignInFailed, Details: details}).record(ctx, tx, c, now); err != nil {
			return err
		}
		if lockedUntil != nil {
			ev := securityEvent{UserID: userID, Type: eventAccountLocked, Severity: severityWarning, Details: map[string]any{
				"locked_until": *lockedUntil, "lockouts": lockouts, "identifier_hash": details["identifier_hash"],
			}}
			if err := ev.record(ctx, tx, c, now); err != nil {
				return err
			}
		}
		return s.detect(ctx, tx, c, now)
	})
	return lockedUntil, err
}

// countFailure adds one failure to subject and, when the count reaches LockoutAttempts,
// locks it (LockoutDuration, doubled for each earlier lock). It returns the end of the lock
// it just started, if any, and how many locks the subject has had.
func (s *Service) countFailure(ctx context.Context, tx pgx.Tx, subject, userID string, now time.Time) (*time.Time, int, error) {
	var failures, lockouts int
	err := tx.QueryRow(ctx, `INSERT INTO auth.sign_in_lockouts AS l (subject, user_id, failed_attempts, lockouts, updated_at)
		VALUES ($1, nullif($2, '')::uuid, 1, 0, $3)
		ON CONFLICT (subject) DO UPDATE SET failed_attempts = l.failed_attempts + 1, updated_at = $3
		RETURNING failed_attempts, lockouts`, subject, userID, now).Scan(&failures, &lockouts)
	if err != nil {
		return nil, 0, fmt.Errorf("count failure: %w", err)
	}
	if s.cfg.LockoutAttempts <= 0 || failures < s.cfg.LockoutAttempts {
		return nil, lockouts, nil
	}
	lockouts++
	until := now.Add(s.lockDuration(lockouts))
	if _, err := tx.Exec(ctx, `UPDATE auth.sign_in_lockouts SET failed_attempts = 0, lockouts = $2, locked_until = $3
		WHERE subject = $1`, subject, lockouts, until); err != nil {
		return nil, 0, fmt.Errorf("lock: %w", err)
	}
	return &until, lockouts, nil
}

// lockDuration is the length of the n-th lock: LockoutDuration doubled n-1 times, capped.
func (s *Service) lockDuration(n int) time.Duration {
	d := s.cfg.LockoutDuration
	for i := 1; i < n && d < s.cfg.LockoutMaxDuration; i++ {
		d *= 2
	}
	return min(d, s.cfg.LockoutMaxDuration)
}

// clearFailures forgets subject's failures after a successful sign-in.
func clearFailures(ctx context.Context, q querier, subject string) error {
	if _, err := q.Exec(ctx, `DELETE FROM auth.sign_in_lockouts WHERE subject = $1`, subject); err != nil {
		return fmt.Errorf("clear failed sign-ins: %w", err)
	}
	return nil
}
