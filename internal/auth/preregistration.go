package auth

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Pre-registration: anyone can sign up with an address they do not own and choose the
// password. If the owner later proves the address some other way (a magic link or code, a
// recovery, an invitation), that password must not survive, or its author signs in to the
// owner's account. So a self-service sign-up records its password as unverified
// (auth.unverified_passwords), each token records the password it stands behind
// (one_time_tokens.password_fingerprint: only a sign-up's confirmation stands behind one),
// and the first confirmation of any address of the user removes an unverified password the
// token does not stand behind. See migration 0007.

// eventUnverifiedPasswordRemoved is the security event of dropUnverifiedPassword.
const eventUnverifiedPasswordRemoved = "unverified_password_removed"

// markUnverifiedPassword records the password a self-service sign-up just gave the
// unconfirmed user userID.
func markUnverifiedPassword(ctx context.Context, tx pgx.Tx, userID string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO auth.unverified_passwords (user_id, password_fingerprint, created_at)
		SELECT id, sha256(convert_to(encrypted_password, 'UTF8')), $2 FROM auth.users
		WHERE id = $1 AND coalesce(encrypted_password, '') <> ''
		ON CONFLICT (user_id) DO UPDATE SET password_fingerprint = EXCLUDED.password_fingerprint, created_at = $2`, userID, now)
	if err != nil {
		return internalError("Database error saving new user", err)
	}
	return nil
}

// repeatsPassword tells whether a sign-up with password for existing (nil: a new user)
// stands behind the password the account will have. A new user's sign-up sets it; a repeated
// sign-up of an unconfirmed account does not replace it (as in GoTrue: nobody has proved they
// own the address yet), so its confirmation stands behind it only when it names the same
// password.
func (s *Service) repeatsPassword(ctx context.Context, existing *user, password string) (bool, error) {
	if existing == nil {
		return true, nil
	}
	if existing.EncryptedPassword == "" {
		return false, nil
	}
	return s.passwords.matches(ctx, existing.EncryptedPassword, password)
}

// dropUnverifiedPassword runs when a token confirms u's first address; fingerprint is the
// password the token stands behind (nil: none). A password still as an unverified sign-up
// set it, and not stood behind by this token, came from someone who never proved the
// address: it is removed and every session of u ends. The owner is signed in by this very
// verification and can set a password of their own. Either way the address is now proved
// and the record goes.
func (s *Service) dropUnverifiedPassword(ctx context.Context, tx pgx.Tx, u *user, fingerprint []byte, client clientInfo) error {
	now := s.now()
	tag, err := tx.Exec(ctx, `WITH unverified AS (
			DELETE FROM auth.unverified_passwords WHERE user_id = $1 RETURNING password_fingerprint)
		UPDATE auth.users u SET encrypted_password = '', updated_at = $3 FROM unverified p
		WHERE u.id = $1 AND coalesce(u.encrypted_password, '') <> ''
			AND sha256(convert_to(u.encrypted_password, 'UTF8')) = p.password_fingerprint
			AND p.password_fingerprint IS DISTINCT FROM $2::bytea`, u.ID, fingerprint, now)
	if err != nil {
		return internalError("Database error updating user", err)
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM auth.sessions WHERE user_id = $1`, u.ID)
	securityEvent{UserID: u.ID, Type: eventUnverifiedPasswordRemoved, Severity: severityWarning}.queue(b, client, now)
	if err := runBatch(ctx, tx, b); err != nil {
		return internalError("Database error updating user", err)
	}
	return nil
}
