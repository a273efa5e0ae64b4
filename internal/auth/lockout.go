package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/jackc/pgx/v5"
)

// Lockout (Go Forward, from the original design's SecurityMonitor):
// wrong passwords are counted twice, per account and client address, and per account.
//
//   - LockoutAttempts wrong passwords in a row from one address lock the account for that
//     address only, for LockoutDuration, doubled for every further lock up to
//     LockoutMaxDuration. Someone guessing from elsewhere cannot lock the owner out.
//   - LockoutAccountAttempts wrong passwords from all addresses together lock the account for
//     every address from which it has not signed in before (within knownAddressLifetime):
//     guessing spread over many addresses is stopped too, while the owner, from an address
//     the account is known at, still gets in with the right password.
//
// A correct password clears both counts. Unknown addresses (e-mail or phone) are counted and
// locked the same way, so the answer never tells whether an account exists.

// knownAddressLifetime is how long a client address stays known to an account after its
// last sign-in from there.
const knownAddressLifetime = 90 * 24 * time.Hour

// lockSubject keys an account's lockout record: the user when the account exists, else a
// hash of the address tried.
func lockSubject(u *user, address string) string {
	if u != nil {
		return "user:" + u.ID
	}
	return "id:" + sha256Hex(address)
}

// clientAddress is the unit lockout counts a client by: an IPv4 address, or the /64 of an
// IPv6 one (a single customer usually holds a whole /64, so counting single IPv6 addresses
// would let one client try 2^64 times). "" when the client's address is unknown.
func clientAddress(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ratelimit.IPKey(ip)
}

// lockKeys are the lockout records a password attempt touches.
type lockKeys struct {
	account string // lockSubject
	pair    string // the account from one client address
	address string // clientAddress, "" when unknown
	userID  string // "" for an unknown address
}

func newLockKeys(u *user, address string, c clientInfo) lockKeys {
	k := lockKeys{account: lockSubject(u, address), address: clientAddress(c.IP)}
	k.pair = k.account + "@" + k.address
	if u != nil {
		k.userID = u.ID
	}
	return k
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

// passwordLock is the lockout state of one password attempt.
type passwordLock struct {
	keys          lockKeys
	pair, account lockState
	known         bool // the account has signed in from this client address before
}

// passwordLockOf reads both records and whether the client address is known to the account,
// in one round trip whether or not the account exists.
func (s *Service) passwordLockOf(ctx context.Context, keys lockKeys) (passwordLock, error) {
	pl := passwordLock{keys: keys}
	rows, err := s.pool.Query(ctx, `SELECT subject, locked_until, failed_attempts, lockouts, EXISTS (
			SELECT 1 FROM auth.sign_in_addresses WHERE user_id = nullif($3, '')::uuid AND address = $4 AND last_sign_in_at > $5)
		FROM (VALUES ($1), ($2)) AS k (subject) LEFT JOIN auth.sign_in_lockouts l USING (subject)`,
		keys.pair, keys.account, keys.userID, keys.address, s.now().Add(-knownAddressLifetime))
	if err != nil {
		return pl, fmt.Errorf("read lockout: %w", err)
	}
	var (
		subject string
		st      lockState
		f, n    *int
	)
	_, err = pgx.ForEachRow(rows, []any{&subject, &st.LockedUntil, &f, &n, &pl.known}, func() error {
		st.Failures, st.Lockouts = deref(f), deref(n)
		if subject == keys.pair {
			pl.pair = st
		} else {
			pl.account = st
		}
		return nil
	})
	if err != nil {
		return pl, fmt.Errorf("read lockout: %w", err)
	}
	pl.known = pl.known && keys.address != ""
	return pl, nil
}

// lockedUntil is the end of the lock that applies to this attempt, if one runs: the
// address's own, or the account's when the address is not known to the account.
func (pl passwordLock) lockedUntil(now time.Time) *time.Time {
	var until *time.Time
	if pl.pair.locked(now) {
		until = pl.pair.LockedUntil
	}
	if !pl.known && pl.account.locked(now) && (until == nil || pl.account.LockedUntil.After(*until)) {
		until = pl.account.LockedUntil
	}
	return until
}

// clear forgets both records after a correct password.
func (pl passwordLock) clear(ctx context.Context, q querier) error {
	if !pl.pair.any() && !pl.account.any() {
		return nil
	}
	if _, err := q.Exec(ctx, `DELETE FROM auth.sign_in_lockouts WHERE subject = ANY($1)`,
		[]string{pl.keys.pair, pl.keys.account}); err != nil {
		return fmt.Errorf("clear failed sign-ins: %w", err)
	}
	return nil
}

// lockedError is the answer while a subject is locked: 429 user_locked, with Retry-After.
func lockedError(until, now time.Time) error {
	wait := until.Sub(now)
	secs := int((wait + time.Second - 1) / time.Second)
	return tooManyRequests(CodeUserLocked, fmt.Sprintf("Too many failed sign-in attempts. Try again in %d seconds.", secs), wait)
}

// failedSignIn records a wrong password (or unknown address) against both records of pl,
// locks either when its count is reached, and runs the detector for the client's IP. It
// returns the end of a lock it just started that applies to this client, if any.
func (s *Service) failedSignIn(ctx context.Context, pl passwordLock, address string, c clientInfo) (*time.Time, error) {
	now := s.now()
	var applies *time.Time
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		userID := pl.keys.userID
		details := map[string]any{"identifier_hash": sha256Hex(address)[:16]}
		if err := (securityEvent{UserID: userID, Type: eventSignInFailed, Details: details}).record(ctx, tx, c, now); err != nil {
			return err
		}
		for _, rec := range []struct {
			subject, scope string
			threshold      int
		}{
			{pl.keys.pair, "address", s.cfg.LockoutAttempts},
			{pl.keys.account, "account", s.cfg.LockoutAccountAttempts},
		} {
			until, lockouts, err := s.countFailureUpTo(ctx, tx, rec.subject, userID, rec.threshold, now)
			if err != nil {
				return err
			}
			if until == nil {
				continue
			}
			if rec.scope == "address" || !pl.known {
				if applies == nil || until.After(*applies) {
					applies = until
				}
			}
			ev := securityEvent{UserID: userID, Type: eventAccountLocked, Severity: severityWarning, Details: map[string]any{
				"locked_until": *until, "lockouts": lockouts, "identifier_hash": details["identifier_hash"], "scope": rec.scope,
			}}
			if err := ev.record(ctx, tx, c, now); err != nil {
				return err
			}
		}
		return s.detect(ctx, tx, c, now)
	})
	return applies, err
}

// countFailure adds one failure to subject and, when the count reaches LockoutAttempts,
// locks it (LockoutDuration, doubled for each earlier lock). It returns the end of the lock
// it just started, if any, and how many locks the subject has had.
func (s *Service) countFailure(ctx context.Context, tx pgx.Tx, subject, userID string, now time.Time) (*time.Time, int, error) {
	return s.countFailureUpTo(ctx, tx, subject, userID, s.cfg.LockoutAttempts, now)
}

// countFailureUpTo is countFailure with threshold in place of LockoutAttempts; a threshold
// of 0 or less counts without ever locking.
func (s *Service) countFailureUpTo(ctx context.Context, tx pgx.Tx, subject, userID string, threshold int, now time.Time) (*time.Time, int, error) {
	var failures, lockouts int
	err := tx.QueryRow(ctx, `INSERT INTO auth.sign_in_lockouts AS l (subject, user_id, failed_attempts, lockouts, updated_at)
		VALUES ($1, nullif($2, '')::uuid, 1, 0, $3)
		ON CONFLICT (subject) DO UPDATE SET failed_attempts = l.failed_attempts + 1, updated_at = $3
		RETURNING failed_attempts, lockouts`, subject, userID, now).Scan(&failures, &lockouts)
	if err != nil {
		return nil, 0, fmt.Errorf("count failure: %w", err)
	}
	if threshold <= 0 || failures < threshold {
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
