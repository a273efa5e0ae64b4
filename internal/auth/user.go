package auth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
)

// getUser is GET /user: the signed-in user.
func (s *Service) getUser(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireUser(r)
	if err != nil {
		return err
	}
	return writeJSON(w, c.User)
}

// updateUserParams is the body of PUT /user. app_metadata is not accepted here: only the
// admin API may change it.
type updateUserParams struct {
	Email    string         `json:"email"`
	Phone    string         `json:"phone"`
	Password *string        `json:"password"`
	Nonce    string         `json:"nonce"`
	Data     map[string]any `json:"data"`
	Channel  string         `json:"channel"`
	pkceParams
}

// reauthenticationAge is how old a session may be before a password change needs a nonce
// (with UpdatePasswordRequireReauthentication), as in GoTrue.
const reauthenticationAge = 24 * time.Hour

// updateUser is PUT /user (supabase.auth.updateUser). Metadata and password change at once; a
// new e-mail address or phone number is only recorded as pending and confirmed through the
// links or code sent to it (and, for e-mail, to the current address too).
func (s *Service) updateUser(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireUser(r)
	if err != nil {
		return err
	}
	var p updateUserParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	u := c.User
	ctx, client := r.Context(), clientOf(r)
	change, err := s.checkUserUpdate(ctx, c, p)
	if err != nil {
		return err
	}
	if change.email != "" || change.phone != "" {
		if err := s.limit(r, s.limits.otp, change.email, change.phone); err != nil {
			return err
		}
	}
	if p.Nonce != "" {
		// A nonce is a short code: guesses are limited like /verify's.
		if err := s.limit(r, s.limits.verify, "user:"+u.ID); err != nil {
			return err
		}
	}
	var hash string
	if p.Password != nil {
		if hash, err = s.passwords.hash(ctx, *p.Password); err != nil {
			return err
		}
	}
	redirect := s.redirectTo(r)
	var updated *user
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		if p.Nonce != "" {
			if err := s.useNonce(ctx, tx, u, p.Nonce, now); err != nil {
				return err
			}
		}
		if p.Data != nil {
			if err := mergeUserMetadata(ctx, tx, u.ID, p.Data, now); err != nil {
				return internalError("Database error updating user", err)
			}
		}
		if hash != "" {
			if err := s.changePassword(ctx, tx, c, hash, client, now); err != nil {
				return err
			}
		}
		if change.email != "" {
			if err := s.changeEmail(ctx, tx, u, change.email, redirect, change.pkce, now); err != nil {
				return err
			}
		}
		if change.phone != "" {
			if err := s.changePhone(ctx, tx, u, change.phone, now); err != nil {
				return err
			}
		}
		if p.Data != nil && hash == "" {
			if err := recordAudit(ctx, tx, u, auditUserModified, nil, client, now); err != nil {
				return err
			}
		}
		var err error
		updated, err = findUserByID(ctx, tx, u.ID)
		return err
	})
	if errors.Is(err, errBadNonce) {
		if err := s.recordBadNonce(ctx, u.ID, client); err != nil {
			return internalError("Database error recording a wrong nonce", err)
		}
		return badNonce()
	}
	if err != nil {
		return err
	}
	return writeJSON(w, updated)
}

// userChange is what a PUT /user asks for, once checked.
type userChange struct {
	email, phone string // new addresses; "" for no change
	pkce         *pkceChallenge
}

// checkUserUpdate validates a PUT /user before anything is written.
func (s *Service) checkUserUpdate(ctx context.Context, c *caller, p updateUserParams) (userChange, error) {
	u := c.User
	var change userChange
	var err error
	if err := checkMetadata(p.Data); err != nil {
		return change, err
	}
	if p.Email != "" {
		if change.email, err = normaliseEmail(p.Email); err != nil {
			return change, err
		}
		if change.email == u.Email {
			change.email = ""
		}
	}
	if p.Phone != "" {
		if change.phone, err = normalisePhone(p.Phone); err != nil {
			return change, err
		}
		if change.phone == u.Phone {
			change.phone = ""
		}
		if err := checkChannel(p.Channel); err != nil {
			return change, err
		}
	}
	if change.pkce, err = p.pkceParams.parse(); err != nil {
		return change, err
	}
	credentials := change.email != "" || change.phone != "" || p.Password != nil
	if credentials && u.hasVerifiedFactor() && (c.Session == nil || c.Session.AAL != aal2) {
		return change, apiError(http.StatusUnauthorized, CodeInsufficientAAL, "AAL2 session is required to update email or password when MFA is enabled.")
	}
	if p.Password != nil {
		if u.IsAnonymous && u.Email == "" && u.Phone == "" {
			return change, unprocessable(CodeValidationFailed, "Updating password of an anonymous user without an email or phone is not allowed")
		}
		if err := s.passwords.policy(*p.Password); err != nil {
			return change, err
		}
		if u.EncryptedPassword != "" {
			same, err := s.passwords.matches(ctx, u.EncryptedPassword, *p.Password)
			if err != nil {
				return change, err
			}
			if same {
				return change, unprocessable(CodeSamePassword, "New password should be different from the old password.")
			}
		}
		if s.cfg.UpdatePasswordRequireReauthentication && p.Nonce == "" && sessionOlderThan(c.Session, s.now(), reauthenticationAge) {
			return change, badRequest(CodeReauthenticationNeeded, "Password update requires reauthentication")
		}
	}
	return change, nil
}

func sessionOlderThan(sess *session, now time.Time, age time.Duration) bool {
	if sess == nil {
		return true
	}
	last := sess.CreatedAt
	if sess.RefreshedAt != nil && sess.RefreshedAt.After(last) {
		last = *sess.RefreshedAt
	}
	return now.Sub(last) > age
}

// changePassword stores the new hash and, as GoTrue does, signs out every other session.
func (s *Service) changePassword(ctx context.Context, tx pgx.Tx, c *caller, hash string, client clientInfo, now time.Time) error {
	u := c.User
	if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"encrypted_password": hash}); err != nil {
		return internalError("Database error updating user", err)
	}
	keep := ""
	if c.Session != nil {
		keep = c.Session.ID
	}
	if _, err := tx.Exec(ctx, `DELETE FROM auth.sessions WHERE user_id = $1 AND id::text <> $2`, u.ID, keep); err != nil {
		return internalError("Database error updating user", err)
	}
	if err := (securityEvent{UserID: u.ID, Type: eventPasswordChanged}).record(ctx, tx, client, now); err != nil {
		return err
	}
	return recordAudit(ctx, tx, u, auditPasswordUpdated, nil, client, now)
}

// changeEmail starts the confirmation of a new address, or, for an anonymous user with
// e-mail autoconfirm on, sets it at once (which is how anonymous users become permanent).
func (s *Service) changeEmail(ctx context.Context, tx pgx.Tx, u *user, email, redirect string, pkce *pkceChallenge, now time.Time) error {
	switch other, err := findUserByEmail(ctx, tx, email); {
	case err == nil && other.ID != u.ID:
		return unprocessable(CodeEmailExists, msgEmailExists)
	case err != nil && !errors.Is(err, errNotFound):
		return internalError("Database error finding user", err)
	}
	if !(u.IsAnonymous && s.cfg.MailerAutoconfirm) {
		return s.sendEmailChange(ctx, tx, u, email, redirect, pkce)
	}
	err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"email": email, "email_confirmed_at": now, "is_anonymous": false})
	if isUniqueViolation(err, "users_email_partial_key") {
		return unprocessable(CodeEmailExists, msgEmailExists).WithCause(err)
	}
	if err != nil {
		return internalError("Database error updating user", err)
	}
	return s.ensureBuiltinIdentity(ctx, tx, u, providerEmail, map[string]any{"email": email, "email_verified": true}, now)
}

// changePhone records a new number and texts it a code (type phone_change), or sets it at
// once with phone autoconfirm.
func (s *Service) changePhone(ctx context.Context, tx pgx.Tx, u *user, phone string, now time.Time) error {
	switch other, err := findUserByPhone(ctx, tx, phone); {
	case err == nil && other.ID != u.ID:
		return unprocessable(CodePhoneExists, msgPhoneExists)
	case err != nil && !errors.Is(err, errNotFound):
		return internalError("Database error finding user", err)
	}
	if s.cfg.PhoneAutoconfirm {
		err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"phone": phone, "phone_confirmed_at": now, "is_anonymous": false})
		if isUniqueViolation(err, "users_phone_key") {
			return unprocessable(CodePhoneExists, msgPhoneExists).WithCause(err)
		}
		if err != nil {
			return internalError("Database error updating user", err)
		}
		return s.ensureBuiltinIdentity(ctx, tx, u, providerPhone, map[string]any{"phone": phone, "phone_verified": true}, now)
	}
	if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"phone_change": phone}); err != nil {
		return internalError("Database error updating user", err)
	}
	_, err := s.sendCode(ctx, tx, outgoingCode{
		User: u, TokenType: tokenPhoneChange, Address: phone, SMS: true, VerifyType: verifyPhoneChange,
		SentColumn: "phone_change_sent_at", LastSent: u.PhoneChangeSentAt,
	})
	return err
}
