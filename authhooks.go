package goforward

import (
	"context"
	"errors"

	"github.com/goforward/goforward/internal/auth"
)

// AuthHookError is what an auth hook returns (or wraps) to refuse with an answer of its own:
// the client gets Status (400 when 0) and Message in GoTrue's error shape. Any other error
// from an auth hook is a 500 whose text is logged, never sent.
type AuthHookError struct {
	Status  int
	Message string
}

func (e *AuthHookError) Error() string { return e.Message }

// AccessTokenEvent is sent before the auth service signs an access token (sign-up, every
// kind of sign-in, refresh, MFA), Supabase's custom access token hook. Handlers add or
// change entries of Claims; an error refuses the token (and, for a sign-in, the session).
//
// Claims holds GoTrue's claims. email, phone, app_metadata and user_metadata may be changed
// or removed, and any claim added; iss, sub, aud, exp, iat, role, aal, amr, session_id and
// is_anonymous must stay as they are (the request fails with a 500 otherwise), so a hook
// cannot change whom the token is for, what the database lets it do or how long it lives.
type AccessTokenEvent struct {
	Event
	App *App
	// Context is the request's.
	Context context.Context
	UserID  string
	// AuthenticationMethod is the latest amr method: password, otp, anonymous, custom, totp, ...
	AuthenticationMethod string
	Claims               map[string]any
}

// UserCreateEvent is sent before the auth service creates a user, however it is created
// (sign-up, OTP, invite, admin API, custom provider, anonymous), Supabase's before user
// created hook. An error refuses the creation: nothing is written.
type UserCreateEvent struct {
	Event
	App *App
	// Context is the request's.
	Context      context.Context
	Email        string
	Phone        string
	Provider     string // email, phone, a custom provider's name; empty for anonymous users
	IsAnonymous  bool
	UserMetadata map[string]any // a copy: changing it changes nothing
}

// PasswordVerificationEvent is sent after a password sign-in's password was compared, for an
// existing account, Supabase's password verification attempt hook. A handler sets Reject to
// refuse the sign-in, even with the right password (an extra lockout, a blocked account):
// the client gets 400 invalid_credentials with Message, or Supabase's default message.
type PasswordVerificationEvent struct {
	Event
	App *App
	// Context is the request's.
	Context context.Context
	UserID  string
	// Valid says the password matched.
	Valid   bool
	Reject  bool
	Message string
	// SignOut, with Reject, also ends every session of the user.
	SignOut bool
}

// MFAVerificationEvent is sent after an MFA code (TOTP or SMS) was compared, Supabase's MFA
// verification attempt hook. A handler sets Reject to refuse the verification, even with the
// right code: the client gets 403 mfa_verification_rejected with Message (or Supabase's
// default), and every session of the user ends, as GoTrue signs the user out.
type MFAVerificationEvent struct {
	Event
	App *App
	// Context is the request's.
	Context    context.Context
	UserID     string
	FactorID   string
	FactorType string // totp or phone
	// Valid says the code matched.
	Valid   bool
	Reject  bool
	Message string
}

// SendEmailEvent is an e-mail the auth service would send (confirmation, invite, magic link,
// recovery, e-mail change, reauthentication), Supabase's send email hook: with a handler bound,
// the chain sends it and the configured mailer does not. It carries the rendered message and
// what it was made from; an error fails the request as a failed send would.
type SendEmailEvent struct {
	Event
	App *App
	// Context is the request's.
	Context context.Context
	UserID  string
	To      string
	// ActionType is what the mail is for: signup, invite, magiclink, recovery, email_change,
	// email, reauthentication.
	ActionType string
	// Token is the one-time code, TokenHash the link's token (empty for reauthentication),
	// ConfirmationURL the link the templates put in the mail.
	Token           string
	TokenHash       string
	RedirectTo      string
	SiteURL         string
	ConfirmationURL string
	// Subject, HTML and Text are the message rendered from the configured templates.
	Subject string
	HTML    string
	Text    string
}

// SendSMSEvent is a text message the auth service would send (phone sign-in and sign-up
// codes, phone changes, MFA phone challenges), Supabase's send SMS hook: with a handler
// bound, the chain sends it and the configured SMS provider does not.
type SendSMSEvent struct {
	Event
	App *App
	// Context is the request's.
	Context context.Context
	UserID  string
	// To is the number in E.164 form.
	To string
	// ActionType is what the code is for: sms, phone_change, mfa, ...
	ActionType string
	OTP        string
	// Body is the text rendered from auth.sms.template.
	Body string
}

// OnCustomAccessToken is the chain run before each access token is signed.
func (a *App) OnCustomAccessToken() *Hook[*AccessTokenEvent] { return &a.onAccessToken }

// OnBeforeUserCreated is the chain run before each user is created.
func (a *App) OnBeforeUserCreated() *Hook[*UserCreateEvent] { return &a.onUserCreate }

// OnPasswordVerificationAttempt is the chain run after each password comparison of a
// password sign-in for an existing account.
func (a *App) OnPasswordVerificationAttempt() *Hook[*PasswordVerificationEvent] {
	return &a.onPasswordVerification
}

// OnMFAVerificationAttempt is the chain run after each MFA code comparison.
func (a *App) OnMFAVerificationAttempt() *Hook[*MFAVerificationEvent] { return &a.onMFAVerification }

// OnSendEmail is the chain that, once bound, sends the auth service's e-mail instead of the
// mailer.
func (a *App) OnSendEmail() *Hook[*SendEmailEvent] { return &a.onSendEmail }

// OnSendSMS is the chain that, once bound, sends the auth service's text messages instead of
// the SMS provider.
func (a *App) OnSendSMS() *Hook[*SendSMSEvent] { return &a.onSendSMS }

// authHooks adapts the chains to the auth service's hooks; a chain without handlers is a
// hook not set.
func (a *App) authHooks() auth.Hooks {
	var h auth.Hooks
	if a.onAccessToken.bound() {
		h.CustomAccessToken = func(ctx context.Context, in auth.AccessTokenInput) (map[string]any, error) {
			e := &AccessTokenEvent{App: a, Context: ctx, UserID: in.UserID, AuthenticationMethod: in.AuthenticationMethod, Claims: in.Claims}
			if err := a.onAccessToken.trigger(e); err != nil {
				return nil, authHookError(err)
			}
			return e.Claims, nil
		}
	}
	if a.onUserCreate.bound() {
		h.BeforeUserCreated = func(ctx context.Context, in auth.NewUserInput) error {
			e := &UserCreateEvent{App: a, Context: ctx, Email: in.Email, Phone: in.Phone, Provider: in.Provider,
				IsAnonymous: in.IsAnonymous, UserMetadata: in.UserMetadata}
			return authHookError(a.onUserCreate.trigger(e))
		}
	}
	if a.onPasswordVerification.bound() {
		h.PasswordVerificationAttempt = func(ctx context.Context, in auth.PasswordAttempt) (auth.PasswordDecision, error) {
			e := &PasswordVerificationEvent{App: a, Context: ctx, UserID: in.UserID, Valid: in.Valid}
			if err := a.onPasswordVerification.trigger(e); err != nil {
				return auth.PasswordDecision{}, authHookError(err)
			}
			return auth.PasswordDecision{Reject: e.Reject, Message: e.Message, SignOut: e.SignOut}, nil
		}
	}
	if a.onMFAVerification.bound() {
		h.MFAVerificationAttempt = func(ctx context.Context, in auth.MFAAttempt) (auth.MFADecision, error) {
			e := &MFAVerificationEvent{App: a, Context: ctx, UserID: in.UserID, FactorID: in.FactorID, FactorType: in.FactorType, Valid: in.Valid}
			if err := a.onMFAVerification.trigger(e); err != nil {
				return auth.MFADecision{}, authHookError(err)
			}
			return auth.MFADecision{Reject: e.Reject, Message: e.Message}, nil
		}
	}
	if a.onSendEmail.bound() {
		h.SendEmail = func(ctx context.Context, in auth.EmailInput) error {
			return authHookError(a.onSendEmail.trigger(&SendEmailEvent{App: a, Context: ctx, UserID: in.UserID, To: in.To,
				ActionType: in.ActionType, Token: in.Token, TokenHash: in.TokenHash, RedirectTo: in.RedirectTo, SiteURL: in.SiteURL,
				ConfirmationURL: in.ConfirmationURL, Subject: in.Subject, HTML: in.HTML, Text: in.Text}))
		}
	}
	if a.onSendSMS.bound() {
		h.SendSMS = func(ctx context.Context, in auth.SMSInput) error {
			return authHookError(a.onSendSMS.trigger(&SendSMSEvent{App: a, Context: ctx, UserID: in.UserID, To: in.To,
				ActionType: in.ActionType, OTP: in.OTP, Body: in.Body}))
		}
	}
	return h
}

// authHookError carries an AuthHookError's answer to the auth service.
func authHookError(err error) error {
	var he *AuthHookError
	if errors.As(err, &he) {
		return &auth.HookError{Status: he.Status, Message: he.Message}
	}
	return err
}
