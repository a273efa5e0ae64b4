package auth

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// The hooks that replace the mailer and the SMS sender, and decide on MFA verification
// attempts (Supabase's send email, send SMS and MFA verification attempt hooks).

// EmailInput is an e-mail the service would send, for the send email hook: the rendered
// message and what it was made from (Supabase's email_data).
type EmailInput struct {
	UserID string
	To     string
	// ActionType is the verification type the mail is for: signup, invite, magiclink,
	// recovery, email_change, email, reauthentication.
	ActionType      string
	Token           string // the one-time code
	TokenHash       string // the link's token ("" for the reauthentication nonce)
	RedirectTo      string
	SiteURL         string
	ConfirmationURL string
	Subject         string
	HTML            string
	Text            string
}

// SMSInput is a text message the service would send, for the send SMS hook.
type SMSInput struct {
	UserID     string
	To         string // E.164, with the +
	ActionType string // sms, phone_change, mfa_phone, ...
	OTP        string
	Body       string
}

// MFAAttempt is one MFA code verification: whose, which factor, and whether it matched.
type MFAAttempt struct {
	UserID     string
	FactorID   string
	FactorType string // totp or phone
	Valid      bool
}

// MFADecision is the MFA verification hook's answer. Reject refuses the verification (even
// with the right code) and ends every session of the user, as GoTrue does.
type MFADecision struct {
	Reject  bool
	Message string // empty: GoTrue's default
}

const msgMFAHookRejected = "Further MFA verification attempts will be rejected."

// deliverMail sends msg through the send email hook when one is set, else the mailer.
func (s *Service) deliverMail(ctx context.Context, in EmailInput, send func() error) error {
	if s.hooks.SendEmail == nil {
		return send()
	}
	if err := s.hooks.SendEmail(ctx, in); err != nil {
		return hookError("send_email", err)
	}
	return nil
}

// deliverSMS sends through the send SMS hook when one is set (no provider message id then),
// else the SMS sender.
func (s *Service) deliverSMS(ctx context.Context, in SMSInput, send func() (string, error)) (string, error) {
	if s.hooks.SendSMS == nil {
		return send()
	}
	if err := s.hooks.SendSMS(ctx, in); err != nil {
		return "", hookError("send_sms", err)
	}
	return "", nil
}

// mfaHook asks the MFA verification hook about an attempt. A rejection signs the user out
// everywhere (within tx, which the caller commits) and is GoTrue's 403
// mfa_verification_rejected.
func (s *Service) mfaHook(ctx context.Context, tx pgx.Tx, in MFAAttempt) (*httpx.AppError, error) {
	if s.hooks.MFAVerificationAttempt == nil {
		return nil, nil
	}
	d, err := s.hooks.MFAVerificationAttempt(ctx, in)
	if err != nil {
		return nil, hookError("mfa_verification_attempt", err)
	}
	if !d.Reject {
		return nil, nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM auth.sessions WHERE user_id = $1`, in.UserID); err != nil {
		return nil, internalError("Database error logging out", err)
	}
	msg := d.Message
	if msg == "" {
		msg = msgMFAHookRejected
	}
	return forbidden(CodeMFAVerificationRejected, "%s", msg), nil
}
