package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"

	"github.com/goforward/goforward/internal/httpx"
)

// Hooks are Supabase Auth Hooks as Go functions of the embedding program. A nil field is a
// hook not set. They run inside the request (and, except the password hook, inside its
// transaction), so a slow hook slows that sign-in or sign-up only.
type Hooks struct {
	// CustomAccessToken may add or change claims of every access token the service signs
	// (sign-in, sign-up, refresh, MFA). The claims that say whom and what the token
	// authenticates (protectedClaims) must come back unchanged.
	CustomAccessToken func(ctx context.Context, in AccessTokenInput) (map[string]any, error)
	// BeforeUserCreated runs before a user is inserted, however it is created (sign-up, OTP,
	// invite, admin, custom provider, anonymous); an error refuses the creation.
	BeforeUserCreated func(ctx context.Context, in NewUserInput) error
	// PasswordVerificationAttempt runs after a password sign-in's comparison for an existing
	// account; Reject refuses the sign-in even with the right password.
	PasswordVerificationAttempt func(ctx context.Context, in PasswordAttempt) (PasswordDecision, error)
	// MFAVerificationAttempt runs after an MFA code was compared; Reject refuses the
	// verification and signs the user out (hooks_send.go).
	MFAVerificationAttempt func(ctx context.Context, in MFAAttempt) (MFADecision, error)
	// SendEmail, when set, sends every e-mail instead of the mailer; SendSMS every text
	// message instead of the SMS sender. An error fails the request as a send failure would.
	SendEmail func(ctx context.Context, in EmailInput) error
	SendSMS   func(ctx context.Context, in SMSInput) error
}

// AccessTokenInput is what the custom access token hook sees (Supabase's payload).
type AccessTokenInput struct {
	UserID               string
	AuthenticationMethod string
	Claims               map[string]any
}

// NewUserInput describes the user about to be created.
type NewUserInput struct {
	Email        string
	Phone        string
	Provider     string
	IsAnonymous  bool
	UserMetadata map[string]any
}

// PasswordAttempt is one password verification: whose account and whether it matched.
type PasswordAttempt struct {
	UserID string
	Valid  bool
}

// PasswordDecision is the password hook's answer.
type PasswordDecision struct {
	Reject bool
	// Message is sent to the client on rejection; empty: GoTrue's default.
	Message string
	// SignOut ends every session of the user as well on rejection (Supabase's
	// should_logout_user).
	SignOut bool
}

// HookError is a hook's refusal with the answer to give: Status (400 when 0) and Message in
// GoTrue's error shape. Any other error from a hook is a 500 whose text is only logged.
type HookError struct {
	Status  int
	Message string
}

func (e *HookError) Error() string { return e.Message }

const msgPasswordHookRejected = "Further password verification attempts will be rejected."

// protectedClaims are the claims the custom access token hook cannot remove or change: they
// decide who the token is for, what the database lets it do and how long it lives.
var protectedClaims = []string{"iss", "sub", "aud", "exp", "iat", "role", "aal", "amr", "session_id", "is_anonymous"}

// hookError turns a hook's error into the client's answer.
func hookError(hook string, err error) *httpx.AppError {
	var he *HookError
	if errors.As(err, &he) {
		status := he.Status
		switch {
		case status == 0:
			status = http.StatusBadRequest
		case status < 400 || status > 599:
			status = http.StatusInternalServerError
		}
		// No error code, as GoTrue's hook errors have none (rendered "unknown"); a 5xx
		// keeps its message so the program's own wording reaches the client.
		return httpx.NewError(status, hookCode(status), he.Message)
	}
	return internalError("Error running hook "+hook, err)
}

func hookCode(status int) string {
	if status >= 500 {
		return CodeUnexpectedFailure
	}
	return ""
}

// customClaims runs the custom access token hook over claims.
func (s *Service) customClaims(ctx context.Context, userID, method string, claims map[string]any) (map[string]any, error) {
	if s.hooks.CustomAccessToken == nil {
		return claims, nil
	}
	out, err := s.hooks.CustomAccessToken(ctx, AccessTokenInput{UserID: userID, AuthenticationMethod: method, Claims: maps.Clone(claims)})
	if err != nil {
		return nil, hookError("custom_access_token", err)
	}
	for _, name := range protectedClaims {
		if !reflect.DeepEqual(normaliseClaim(out[name]), normaliseClaim(claims[name])) {
			return nil, internalError("Error running hook custom_access_token", fmt.Errorf("the hook changed or removed claim %q", name))
		}
	}
	return out, nil
}

// normaliseClaim makes a claim comparable whatever Go type the hook used for it.
func normaliseClaim(v any) any {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case int:
		return float64(n)
	case []amrEntry:
		out := make([]any, len(n))
		for i, e := range n {
			out[i] = e
		}
		return out
	}
	return v
}

// beforeUserCreated runs the before-user-created hook on nu.
func (s *Service) beforeUserCreated(ctx context.Context, nu newUser) error {
	if s.hooks.BeforeUserCreated == nil {
		return nil
	}
	err := s.hooks.BeforeUserCreated(ctx, NewUserInput{Email: nu.Email, Phone: nu.Phone, Provider: nu.Provider,
		IsAnonymous: nu.Anonymous, UserMetadata: maps.Clone(nu.UserMetadata)})
	if err != nil {
		return hookError("before_user_created", err)
	}
	return nil
}

// preserveAppError keeps an answer already decided (a hook's refusal) instead of wrapping
// it as a database failure.
func preserveAppError(msg string, err error) error {
	var ae *httpx.AppError
	if errors.As(err, &ae) {
		return ae
	}
	return internalError(msg, err)
}

// passwordHook asks the password verification hook about an attempt on u's account. A
// rejection is GoTrue's 400 invalid_credentials with the hook's message; it does not count
// towards lockout, which the hook is there to replace or extend.
func (s *Service) passwordHook(ctx context.Context, u *user, valid bool) error {
	d, err := s.hooks.PasswordVerificationAttempt(ctx, PasswordAttempt{UserID: u.ID, Valid: valid})
	if err != nil {
		return hookError("password_verification_attempt", err)
	}
	if !d.Reject {
		return nil
	}
	if d.SignOut {
		if _, err := s.pool.Exec(ctx, `DELETE FROM auth.sessions WHERE user_id = $1`, u.ID); err != nil {
			return internalError("Database error logging out", err)
		}
	}
	msg := d.Message
	if msg == "" {
		msg = msgPasswordHookRejected
	}
	return badRequest(CodeInvalidCredentials, "%s", msg)
}
