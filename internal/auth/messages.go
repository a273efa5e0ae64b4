package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
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
	// SetsPassword marks the confirmation of a sign-up that set the user's current password:
	// confirming it keeps that password. Any other first confirmation of an address removes
	// a password (see dropUnverifiedPassword).
	SetsPassword bool
}

// hasLink tells whether the message carries a link: e-mails do, except the
// reauthentication nonce, which is only typed.
func (oc outgoingCode) hasLink() bool {
	return !oc.SMS && oc.TokenType != tokenReauthentication
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
	inbox := map[string]any{"type": oc.VerifyType, "token": code.OTP}
	if code.LinkToken != "" {
		inbox["token_hash"] = code.LinkToken
	}
	if oc.SMS {
		return s.sendSMS(ctx, oc, code.OTP, inbox)
	}
	return "", s.sendMail(ctx, oc, code.OTP, code.LinkToken, inbox)
}

// issuedCode is a one-time code just stored: what a message carries.
type issuedCode struct {
	OTP       string // the digits a person types
	Link      string // the link's secret (GoTrue's hashed_token and {{ .TokenHash }}); "" without a link
	LinkToken string // what an e-mail link carries: Link, with the pkce_ prefix for PKCE flows
}

// linkSecretBytes is the entropy of a link's secret: 224 bits, written as 56 hex digits, the
// shape of GoTrue's token hash.
const linkSecretBytes = 28

// newLinkSecret returns a fresh link secret.
func newLinkSecret() string {
	b := make([]byte, linkSecretBytes)
	rand.Read(b) // never fails: the runtime aborts rather than return an error
	return hex.EncodeToString(b)
}

// issueCode creates and stores the code for oc (replacing a pending one of the same kind)
// and records when it was sent, without sending it: sendCode sends it, the admin API's
// generate_link hands it to the caller. The typed code is stored as GoTrue's
// SHA-224(address + code) and only ever checked together with the address; the link gets
// an independent random secret, stored as its SHA-256, so that it cannot be derived from
// the address and a guessed code.
func (s *Service) issueCode(ctx context.Context, tx pgx.Tx, oc outgoingCode) (issuedCode, error) {
	now := s.now()
	otp := randomDigits(s.cfg.OTPLength)
	code := issuedCode{OTP: otp}
	var linkHash *string
	if oc.hasLink() {
		code.Link = newLinkSecret()
		code.LinkToken = code.Link
		if oc.PKCE {
			code.LinkToken = pkcePrefix + code.Link
		}
		h := sha256Hex(code.Link)
		linkHash = &h
	}
	_, err := tx.Exec(ctx, `INSERT INTO auth.one_time_tokens AS t (id, user_id, token_type, token_hash, relates_to,
			created_at, updated_at, link_hash, password_fingerprint)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7, CASE WHEN $8 THEN (SELECT sha256(convert_to(u.encrypted_password, 'UTF8'))
			FROM auth.users u WHERE u.id = $2 AND coalesce(u.encrypted_password, '') <> '') END)
		ON CONFLICT (user_id, token_type) DO UPDATE SET token_hash = EXCLUDED.token_hash, relates_to = EXCLUDED.relates_to,
			created_at = $6, updated_at = $6, failed_attempts = 0, link_hash = EXCLUDED.link_hash,
			password_fingerprint = EXCLUDED.password_fingerprint`,
		newID(), oc.User.ID, oc.TokenType, sha224Hex(oc.Address+otp), oc.Address, now, linkHash, oc.SetsPassword)
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
	if linkToken != "" {
		data.ConfirmationURL = s.verifyURL(linkToken, oc.VerifyType, oc.RedirectTo)
		inbox["link"] = data.ConfirmationURL
	}
	inbox["redirect_to"] = oc.RedirectTo
	subject, html, text, err := s.templates.Render(oc.MailKind, data)
	if err != nil {
		return internalError("Error rendering "+oc.VerifyType+" email", err)
	}
	msg := mailer.Message{To: oc.Address, Subject: subject, HTML: html, Text: text, Kind: oc.MailKind}
	in := EmailInput{UserID: oc.User.ID, To: oc.Address, ActionType: oc.VerifyType, Token: otp, TokenHash: linkToken,
		RedirectTo: oc.RedirectTo, SiteURL: s.cfg.SiteURL, ConfirmationURL: data.ConfirmationURL, Subject: subject, HTML: html, Text: text}
	err = s.deliverMail(ctx, in, func() error {
		if err := s.mail.Send(ctx, msg); err != nil {
			return internalError(sendFailureMessage(oc.VerifyType), err)
		}
		return nil
	})
	if err != nil {
		return err
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
	in := SMSInput{UserID: oc.User.ID, To: "+" + oc.Address, ActionType: oc.VerifyType, OTP: otp, Body: body.String()}
	id, err := s.deliverSMS(ctx, in, func() (string, error) {
		id, err := s.sms.Send(ctx, sms.Message{To: in.To, Body: in.Body, Kind: oc.VerifyType})
		if err != nil {
			return "", apiError(http.StatusBadRequest, CodeSMSSendFailed, "Error sending %s OTP to provider", oc.VerifyType).WithCause(err)
		}
		return id, nil
	})
	if err != nil {
		return "", err
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
// Its query is written as GoTrue writes it (templatemailer.getPath): token, type and
// redirect_to in that order, redirect_to escaped only when it holds '&', '=' or '#' (which
// would cut it short) — or, beyond GoTrue, a character a URL may not carry raw.
func (s *Service) verifyURL(token, verifyType, redirectTo string) string {
	if strings.ContainsAny(redirectTo, "&=#") || strings.ContainsFunc(redirectTo, unsafeInQuery) {
		redirectTo = url.QueryEscape(redirectTo)
	}
	return s.cfg.ExternalURL + Prefix + "/verify?token=" + url.QueryEscape(token) + "&type=" + url.QueryEscape(verifyType) + "&redirect_to=" + redirectTo
}

// unsafeInQuery reports characters that cannot appear unescaped in a URL's query.
func unsafeInQuery(r rune) bool {
	return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"<>\^`+"`"+`{|}`, r)
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
