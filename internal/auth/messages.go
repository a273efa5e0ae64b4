package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/mailer"
	"github.com/goforward/goforward/internal/sms"
)

// Kinds of auth.one_time_tokens rows.
const (
	tokenConfirmation     = "confirmation_token"
	tokenRecovery         = "recovery_token"
	tokenEmailChangeNew   = "email_change_token_new"
	tokenEmailChangeOld   = "email_change_token_current"
	tokenPhoneChange      = "phone_change_token"
	tokenReauthentication = "reauthentication_token"
)

// Verification types: the type of an e-mail link and of POST /verify.
const (
	verifySignup      = "signup"
	verifyInvite      = "invite"
	verifyMagicLink   = "magiclink"
	verifyRecovery    = "recovery"
	verifyEmailChange = "email_change"
	verifyEmail       = "email"
	verifySMS         = "sms"
	verifyPhoneChange = "phone_change"
)

// pkcePrefix marks link tokens of the PKCE flow: /verify answers them with ?code=.
const pkcePrefix = "pkce_"

// outgoingCode is a one-time code to create and send.
type outgoingCode struct {
	User       *user
	TokenType  string     // the auth.one_time_tokens kind
	Address    string     // e-mail address, or phone digits, the code is sent to and bound to
	SMS        bool       // send by SMS rather than e-mail
	VerifyType string     // the link's type, and the dev inbox's label
	MailKind   string     // the e-mail template
	SentColumn string     // the auth.users column recording when it was sent
	LastSent   *time.Time // that column's value before this send, for MaxFrequency
	RedirectTo string
	PKCE       bool
	NewEmail   string // the requested address, for email_change mails
}

// sendCode creates the code, records it (hashed) and sends it, all within tx: when the send
// fails the caller's transaction rolls back and nothing of the request remains. It returns
// the SMS provider's message id ("" for e-mail).
func (s *Service) sendCode(ctx context.Context, tx pgx.Tx, oc outgoingCode) (string, error) {
	if err := s.checkFrequency(oc.LastSent, oc.SMS, s.now()); err != nil {
		return "", err
	}
	code, err := s.issueCode(ctx, tx, oc)
	if err != nil {
		return "", err
	}
	inbox := map[string]any{"type": oc.VerifyType, "token": code.OTP, "token_hash": code.LinkToken}
	if oc.SMS {
		return s.sendSMS(ctx, oc, code.OTP, inbox)
	}
	return "", s.sendMail(ctx, oc, code.OTP, code.LinkToken, inbox)
}

// issuedCode is a one-time code just stored: what a message carries.
type issuedCode struct {
	OTP       string // the digits a person types
	Hash      string // GoTrue's token hash, as stored
	LinkToken string // what an e-mail link carries: Hash, with the pkce_ prefix for PKCE flows
}

// issueCode creates and stores the code for oc (replacing a pending one of the same kind)
// and records when it was sent, without sending it: sendCode sends it, the admin API's
// generate_link hands it to the caller.
func (s *Service) issueCode(ctx context.Context, tx pgx.Tx, oc outgoingCode) (issuedCode, error) {
	now := s.now()
	otp := randomDigits(s.cfg.OTPLength)
	code := issuedCode{OTP: otp, Hash: sha224Hex(oc.Address + otp)}
	code.LinkToken = code.Hash
	if oc.PKCE {
		code.LinkToken = pkcePrefix + code.Hash
	}
	_, err := tx.Exec(ctx, `INSERT INTO auth.one_time_tokens AS t (id, user_id, token_type, token_hash, relates_to, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (user_id, token_type) DO UPDATE SET token_hash = $4, relates_to = $5, created_at = $6,
			updated_at = $6, failed_attempts = 0`, newID(), oc.User.ID, oc.TokenType, code.Hash, oc.Address, now)
	if err != nil {
		return issuedCode{}, fmt.Errorf("save one-time token: %w", err)
	}
	if err := updateUserColumns(ctx, tx, oc.User.ID, now, map[string]any{oc.SentColumn: now}); err != nil {
		return issuedCode{}, err
	}
	return code, nil
}

// checkFrequency enforces MaxFrequency between two sends of one kind to one address.
func (s *Service) checkFrequency(last *time.Time, viaSMS bool, now time.Time) error {
	if last == nil || s.cfg.MaxFrequency <= 0 {
		return nil
	}
	next := last.Add(s.cfg.MaxFrequency)
	if !now.Before(next) {
		return nil
	}
	wait := next.Sub(now)
	code := CodeOverEmailSendRateLimit
	if viaSMS {
		code = CodeOverSMSSendRateLimit
	}
	secs := int((wait + time.Second - 1) / time.Second)
	return tooManyRequests(code, fmt.Sprintf("For security purposes, you can only request this after %d seconds.", secs), wait)
}

func (s *Service) sendMail(ctx context.Context, oc outgoingCode, otp, linkToken string, inbox map[string]any) error {
	if err := allow(ctx, s.limits.emailSent, "node", CodeOverEmailSendRateLimit, "Email rate limit exceeded"); err != nil {
		return err
	}
	data := mailer.TemplateData{
		SiteURL:    s.cfg.SiteURL,
		Token:      otp,
		TokenHash:  linkToken,
		Email:      oc.User.Email,
		NewEmail:   oc.NewEmail,
		SendingTo:  oc.Address,
		RedirectTo: oc.RedirectTo,
		Data:       oc.User.UserMetadata,
	}
	if oc.TokenType != tokenReauthentication {
		data.ConfirmationURL = s.verifyURL(linkToken, oc.VerifyType, oc.RedirectTo)
		inbox["link"] = data.ConfirmationURL
	}
	inbox["redirect_to"] = oc.RedirectTo
	subject, html, text, err := s.templates.Render(oc.MailKind, data)
	if err != nil {
		return internalError("Error rendering "+oc.VerifyType+" email", err)
	}
	msg := mailer.Message{To: oc.Address, Subject: subject, HTML: html, Text: text, Kind: oc.MailKind}
	if err := s.mail.Send(ctx, msg); err != nil {
		return internalError(sendFailureMessage(oc.VerifyType), err)
	}
	s.keepInInbox(ctx, "email", oc.Address, oc.MailKind, subject, text, html, inbox)
	return nil
}

func (s *Service) sendSMS(ctx context.Context, oc outgoingCode, otp string, inbox map[string]any) (string, error) {
	if err := allow(ctx, s.limits.smsSent, "node", CodeOverSMSSendRateLimit, "SMS rate limit exceeded"); err != nil {
		return "", err
	}
	var body bytes.Buffer
	if err := s.smsText.Execute(&body, map[string]string{"Code": otp}); err != nil {
		return "", internalError("Error rendering SMS", err)
	}
	id, err := s.sms.Send(ctx, sms.Message{To: "+" + oc.Address, Body: body.String(), Kind: oc.VerifyType})
	if err != nil {
		return "", apiError(http.StatusBadRequest, CodeSMSSendFailed, "Error sending %s OTP to provider", oc.VerifyType).WithCause(err)
	}
	inbox["message_id"] = id
	s.keepInInbox(ctx, "sms", "+"+oc.Address, oc.VerifyType, "", body.String(), "", inbox)
	return id, nil
}

func sendFailureMessage(verifyType string) string {
	switch verifyType {
	case verifySignup:
		return "Error sending confirmation email"
	case verifyRecovery:
		return "Error sending recovery email"
	case verifyMagicLink:
		return "Error sending magic link email"
	case verifyEmailChange:
		return "Error sending email change email"
	default:
		return "Error sending " + verifyType + " email"
	}
}

// verifyURL is the link an e-mail carries: GET /auth/v1/verify, which redirects to redirectTo.
func (s *Service) verifyURL(token, verifyType, redirectTo string) string {
	q := url.Values{}
	q.Set("token", token)
	q.Set("type", verifyType)
	q.Set("redirect_to", redirectTo)
	return s.cfg.ExternalURL + Prefix + "/verify?" + q.Encode()
}

// randomDigits returns n uniformly random decimal digits.
func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(fmt.Sprintf("auth: crypto/rand failed: %v", err))
		}
		b[i] = byte('0' + d.Int64())
	}
	return string(b)
}
