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

// OnCustomAccessToken is the chain run before each access token is signed.
func (a *App) OnCustomAccessToken() *Hook[*AccessTokenEvent] { return &a.onAccessToken }

// OnBeforeUserCreated is the chain run before each user is created.
func (a *App) OnBeforeUserCreated() *Hook[*UserCreateEvent] { return &a.onUserCreate }

// OnPasswordVerificationAttempt is the chain run after each password comparison of a
// password sign-in for an existing account.
func (a *App) OnPasswordVerificationAttempt() *Hook[*PasswordVerificationEvent] {
	return &a.onPasswordVerification
}

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
