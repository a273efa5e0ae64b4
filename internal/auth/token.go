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
	var p passwordGrantParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	var address, provider string
	switch {
	case p.Email != "" && p.Phone != "":
		return badRequest(CodeValidationFailed, "Only an email address or phone number should be provided on login.")
	case p.Email != "":
		address, provider = strings.ToLower(strings.TrimSpace(p.Email)), providerEmail
	case p.Phone != "":
		provider = providerPhone
		var err error
		if address, err = normalisePhone(p.Phone); err != nil {
			address = p.Phone // looked up as given: it matches no one
		}
	default:
		return badRequest(CodeValidationFailed, "missing email or phone")
	}
	if len(address) > maxEmailLength {
		address = address[:maxEmailLength]
	}
	if err := s.limit(r, s.limits.token, address); err != nil {
		return err
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
		return internalError("Database error querying schema", err)
	}
	lock, err := s.passwordLockOf(ctx, newLockKeys(u, address, client))
	if err != nil {
		return internalError("Database error querying schema", err)
	}
	now := s.now()
	if until := lock.lockedUntil(now); until != nil {
		return lockedError(*until, now)
	}

	ok := false
	if u == nil {
		err = s.passwords.compareDummy(ctx, p.Password)
	} else {
		ok, err = s.passwords.matches(ctx, u.EncryptedPassword, p.Password)
	}
	if err != nil {
		return err
	}
	if !ok {
		lockedUntil, err := s.failedSignIn(ctx, lock, address, client)
		if err != nil {
			return internalError("Database error recording a failed sign-in", err)
		}
		if lockedUntil != nil {
			return lockedError(*lockedUntil, s.now())
		}
		return badRequest(CodeInvalidCredentials, msgInvalidCredentials)
	}

	if err := lock.clear(ctx, s.pool); err != nil {
		return internalError("Database error clearing failed sign-ins", err)
	}
	switch {
	case u.banned(s.now()):
		return badRequest(CodeUserBanned, "User is banned")
	case provider == providerEmail && !u.emailConfirmed():
		return badRequest(CodeEmailNotConfirmed, "Email not confirmed")
	case provider == providerPhone && !u.phoneConfirmed():
		return badRequest(CodePhoneNotConfirmed, "Phone not confirmed")
	}
	var resp *sessionResponse
	err = inTx(ctx, s.pool, func(tx pgx.Tx) (txErr error) {
		resp, txErr = s.startSession(ctx, tx, newSession{User: u, Method: methodPassword, Provider: provider, Client: client})
		return txErr
	})
	if err != nil {
		return internalError("Database error granting user", err)
	}
	if weak := s.passwords.policy(p.Password); weak != nil {
		if reasons, ok := weak.Details[weakPasswordKey].([]string); ok {
			resp.WeakPassword = &weakPassword{Reasons: reasons, Message: weak.Message}
		}
	}
	return writeJSON(w, resp)
}
