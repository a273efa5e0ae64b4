package auth

import (
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/mailer"
)

// resendParams is the body of POST /resend.
type resendParams struct {
	Type  string `json:"type"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	pkceParams
}

// resend is POST /resend: it sends again a sign-up confirmation, the two e-mail change links,
// or a phone confirmation or change code that is pending. Nothing pending (or no such user)
// gets the same answer as a resend, and the same 429 when asked again too soon, so the
// endpoint reveals nothing.
func (s *Service) resend(w http.ResponseWriter, r *http.Request) error {
	var p resendParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	var address string
	var err error
	switch p.Type {
	case verifySignup, verifyEmailChange:
		if p.Email == "" {
			return badRequest(CodeValidationFailed, "Type provided requires an email address")
		}
		address, err = normaliseEmail(p.Email)
	case verifySMS, verifyPhoneChange:
		if p.Phone == "" {
			return badRequest(CodeValidationFailed, "Type provided requires a phone number")
		}
		address, err = normalisePhone(p.Phone)
	default:
		return badRequest(CodeValidationFailed, "Missing one of these types: signup, email_change, sms, phone_change")
	}
	if err != nil {
		return err
	}
	pkce, err := p.pkceParams.parse()
	if err != nil {
		return err
	}
	if err := s.limit(r, s.limits.otp, address); err != nil {
		return err
	}

	ctx := r.Context()
	channel := channelEmail
	if p.Type == verifySMS || p.Type == verifyPhoneChange {
		channel = channelSMS
	}
	redirect := s.redirectTo(r)
	var messageID string
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		// The send limit comes before the lookup, so that it answers alike for every address.
		if err := s.claimSend(ctx, tx, channel, address); err != nil {
			return err
		}
		u, err := findResendUser(ctx, tx, p.Type, address)
		if errors.Is(err, errNotFound) {
			return nil
		}
		if err != nil {
			return internalError("Database error finding user", err)
		}
		messageID, err = s.resendPending(ctx, tx, u, p.Type, address, redirect, pkce)
		return err
	})
	if err != nil {
		return err
	}
	if messageID != "" {
		return writeJSON(w, map[string]any{"message_id": messageID})
	}
	return writeJSON(w, map[string]any{})
}

// findResendUser finds the user a resend of verifyType to address is for.
func findResendUser(ctx context.Context, q querier, verifyType, address string) (*user, error) {
	switch verifyType {
	case verifySignup:
		return findUserByEmail(ctx, q, address)
	case verifyEmailChange:
		// Clients name either the current address or the requested one.
		u, err := findUserByEmail(ctx, q, address)
		if errors.Is(err, errNotFound) {
			return findUser(ctx, q, "u.email_change = $1 AND u.aud = $2", address, audience)
		}
		return u, err
	case verifySMS:
		return findUserByPhone(ctx, q, address)
	default: // verifyPhoneChange
		return findUser(ctx, q, "u.phone_change = $1 AND u.aud = $2", address, audience)
	}
}

// resendPending sends what is pending for u of the given type, if anything is. A sign-up
// confirmation sent again stands behind the account's password as the sign-up's own did:
// whoever could ask for it could as well sign up again with the same password.
func (s *Service) resendPending(ctx context.Context, tx pgx.Tx, u *user, verifyType, address, redirect string, pkce *pkceChallenge) (string, error) {
	switch {
	case verifyType == verifySignup && !u.emailConfirmed():
		if pkce != nil {
			if err := createFlowState(ctx, tx, u.ID, methodEmailSignup, providerEmail, *pkce, s.now()); err != nil {
				return "", err
			}
		}
		return s.sendCode(ctx, tx, outgoingCode{
			User: u, TokenType: tokenConfirmation, Address: address, VerifyType: verifySignup,
			MailKind: mailer.KindConfirmation, SentColumn: "confirmation_sent_at", LastSent: u.ConfirmationSentAt,
			RedirectTo: redirect, PKCE: pkce != nil, SetsPassword: true,
		})
	case verifyType == verifyEmailChange && u.EmailChange != "":
		return "", s.sendEmailChange(ctx, tx, u, u.EmailChange, redirect, pkce)
	case verifyType == verifySMS && !u.phoneConfirmed():
		return s.sendCode(ctx, tx, outgoingCode{
			User: u, TokenType: tokenConfirmation, Address: address, SMS: true, VerifyType: verifySMS,
			SentColumn: "confirmation_sent_at", LastSent: u.ConfirmationSentAt, SetsPassword: true,
		})
	case verifyType == verifyPhoneChange:
		return s.sendCode(ctx, tx, outgoingCode{
			User: u, TokenType: tokenPhoneChange, Address: address, SMS: true, VerifyType: verifyPhoneChange,
			SentColumn: "phone_change_sent_at", LastSent: u.PhoneChangeSentAt,
		})
	}
	return "", nil
}

// sendEmailChange starts (or restarts) the secure e-mail change of u to newEmail: a link to
// the new address and, when u has one, a link to the current address; both must be used.
func (s *Service) sendEmailChange(ctx context.Context, tx pgx.Tx, u *user, newEmail, redirect string, pkce *pkceChallenge) error {
	now := s.now()
	if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"email_change": newEmail, "email_change_confirm_status": 0}); err != nil {
		return internalError("Database error updating user", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM auth.one_time_tokens WHERE user_id = $1 AND token_type::text = ANY($2)`,
		u.ID, []string{tokenEmailChangeNew, tokenEmailChangeOld}); err != nil {
		return internalError("Database error updating user", err)
	}
	if pkce != nil {
		if err := createFlowState(ctx, tx, u.ID, methodEmailChange, providerEmail, *pkce, now); err != nil {
			return err
		}
	}
	lastSent := u.EmailChangeSentAt
	code := outgoingCode{
		User: u, TokenType: tokenEmailChangeNew, Address: newEmail, VerifyType: verifyEmailChange,
		MailKind: mailer.KindEmailChange, SentColumn: "email_change_sent_at", LastSent: lastSent,
		RedirectTo: redirect, PKCE: pkce != nil, NewEmail: newEmail,
	}
	if _, err := s.sendCode(ctx, tx, code); err != nil {
		return err
	}
	if u.Email == "" {
		return nil
	}
	code.TokenType, code.Address = tokenEmailChangeOld, u.Email
	_, err := s.sendCode(ctx, tx, code)
	return err
}
