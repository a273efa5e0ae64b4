package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
)

// token is POST /token; grant_type travels in the query string.
func (s *Service) token(w http.ResponseWriter, r *http.Request) error {
	switch r.URL.Query().Get("grant_type") {
	case "password":
		return s.passwordGrant(w, r)
	case "refresh_token":
		return s.refreshGrant(w, r)
	case "pkce":
		return s.pkceGrant(w, r)
	case "custom":
		return s.customGrant(w, r)
	case "id_token":
		return s.idTokenGrant(w, r)
	case "web3":
		return web3Disabled(w, r)
	default:
		return badRequest(CodeInvalidCredentials, "unsupported_grant_type")
	}
}

// passwordGrantParams is the body of POST /token?grant_type=password.
type passwordGrantParams struct {
	Email    string `json:"email"`
	Phone    string `json:"phone"`
	Password string `json:"password"`
}

// passwordGrant signs in with e-mail or phone and password. Unknown addresses and wrong
// passwords get the same answer after the same bcrypt work, and both count towards lockout
// (lockout.go).
func (s *Service) passwordGrant(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	checked, err := s.checkPassword(r, body)
	if err != nil {
		return err
	}
	ctx, client, u := r.Context(), clientOf(r), checked.user
	var resp *sessionResponse
	err = inTx(ctx, s.pool, func(tx pgx.Tx) (txErr error) {
		resp, txErr = s.startSession(ctx, tx, newSession{User: u, Method: methodPassword, Provider: checked.provider, Client: client})
		return txErr
	})
	if err != nil {
		return preserveAppError("Database error granting user", err)
	}
	if weak := s.passwords.policy(checked.password); weak != nil {
		if reasons, ok := weak.Details[weakPasswordKey].([]string); ok {
			resp.WeakPassword = &weakPassword{Reasons: reasons, Message: weak.Message}
		}
	}
	return writeJSON(w, resp)
}

// checkedPassword is a password sign-in that passed every check before the session: the
// account, the identity used (email or phone) and the password given.
type checkedPassword struct {
	user     *user
	provider string
	password string
}

// checkPassword runs the password grant on body up to the session: validation, rate limits,
// lockout, the bcrypt comparison, then ban and confirmation. On a refusal, user is the
// account the address belongs to, if one does (so that admin sign-in can audit whose
// account was tried); the error is the answer to give.
func (s *Service) checkPassword(r *http.Request, body []byte) (checkedPassword, error) {
	var p passwordGrantParams
	if err := decodeJSONBytes(body, &p, false); err != nil {
		return checkedPassword{}, err
	}
	var address, provider string
	switch {
	case p.Email != "" && p.Phone != "":
		return checkedPassword{}, badRequest(CodeValidationFailed, "Only an email address or phone number should be provided on login.")
	case p.Email != "":
		address, provider = strings.ToLower(strings.TrimSpace(p.Email)), providerEmail
	case p.Phone != "":
		provider = providerPhone
		var err error
		if address, err = normalisePhone(p.Phone); err != nil {
			address = p.Phone // looked up as given: it matches no one
		}
	default:
		return checkedPassword{}, badRequest(CodeValidationFailed, "missing email or phone")
	}
	if len(address) > maxEmailLength {
		address = address[:maxEmailLength]
	}
	if err := s.limit(r, s.limits.token, address); err != nil {
		return checkedPassword{}, err
	}

	ctx, client := r.Context(), clientOf(r)
	var (
		u   *user
		err error
	)
	if provider == providerEmail {
		u, err = findUserByEmail(ctx, s.pool, address)
	} else {
		u, err = findUserByPhone(ctx, s.pool, address)
	}
	if err != nil && !errors.Is(err, errNotFound) {
		return checkedPassword{}, internalError("Database error querying schema", err)
	}
	refused := checkedPassword{user: u, provider: provider}
	lock, err := s.passwordLockOf(ctx, newLockKeys(u, address, client))
	if err != nil {
		return refused, internalError("Database error querying schema", err)
	}
	now := s.now()
	if until := lock.lockedUntil(now); until != nil {
		return refused, lockedError(*until, now)
	}

	ok := false
	if u == nil {
		err = s.passwords.compareDummy(ctx, p.Password)
	} else {
		ok, err = s.passwords.matches(ctx, u.EncryptedPassword, p.Password)
	}
	if err != nil {
		return refused, err
	}
	if u != nil && s.hooks.PasswordVerificationAttempt != nil {
		if err := s.passwordHook(ctx, u, ok); err != nil {
			return refused, err
		}
	}
	if !ok {
		lockedUntil, err := s.failedSignIn(ctx, lock, address, client)
		if err != nil {
			return refused, internalError("Database error recording a failed sign-in", err)
		}
		if lockedUntil != nil {
			return refused, lockedError(*lockedUntil, s.now())
		}
		return refused, badRequest(CodeInvalidCredentials, msgInvalidCredentials)
	}

	if err := lock.clear(ctx, s.pool); err != nil {
		return refused, internalError("Database error clearing failed sign-ins", err)
	}
	switch {
	case u.banned(s.now()):
		return refused, badRequest(CodeUserBanned, "User is banned")
	case provider == providerEmail && !u.emailConfirmed():
		return refused, badRequest(CodeEmailNotConfirmed, "Email not confirmed")
	case provider == providerPhone && !u.phoneConfirmed():
		return refused, badRequest(CodePhoneNotConfirmed, "Phone not confirmed")
	}
	return checkedPassword{user: u, provider: provider, password: p.Password}, nil
}
