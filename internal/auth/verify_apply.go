package auth

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// errBadCode is what verification returns for a code or token that matches nothing pending
// (wrong, expired or used up).
var errBadCode = errors.New("auth: one-time token is invalid or expired")

// verification is one attempt to use a one-time token: a typed code with the address it was
// sent to, or a link's secret alone.
type verification struct {
	Type    string // a verify* constant
	Code    string // the typed code; "" for a link
	Address string // the e-mail or phone the code was entered for; "" for a link
	Link    string // the link's secret, without the pkce_ prefix; "" for a typed code
	PKCE    bool   // the link carried the pkce_ prefix: answer with an auth code
}

// verified is the outcome of a successful verification: a session (implicit flow), an auth
// code (PKCE flow), or, for the first half of a secure e-mail change, neither.
type verified struct {
	Session       *sessionResponse
	AuthCode      string
	HalfConfirmed bool // one of the two e-mail change links used; the other is still pending
}

// tokenTypesFor lists the one-time token kinds a verification type may use.
func tokenTypesFor(verifyType string) []string {
	switch verifyType {
	case verifySignup, verifyInvite, verifySMS:
		return []string{tokenConfirmation}
	case verifyMagicLink, verifyRecovery:
		return []string{tokenRecovery}
	case verifyEmail:
		return []string{tokenConfirmation, tokenRecovery}
	case verifyEmailChange:
		return []string{tokenEmailChangeNew, tokenEmailChangeOld}
	case verifyPhoneChange:
		return []string{tokenPhoneChange}
	}
	return nil
}

func isPhoneVerification(verifyType string) bool {
	return verifyType == verifySMS || verifyType == verifyPhoneChange
}

// pkceMethodFor is the authentication method a PKCE flow of this verification type was
// recorded under.
func pkceMethodFor(verifyType string) string {
	switch verifyType {
	case verifySignup:
		return methodEmailSignup
	case verifyInvite:
		return methodInvite
	case verifyMagicLink:
		return methodMagicLink
	case verifyRecovery:
		return methodRecovery
	case verifyEmailChange:
		return methodEmailChange
	}
	return methodOTP
}

// verify uses up the token and applies what it confirms, in tx. errBadCode means no pending
// token matched.
func (s *Service) verify(ctx context.Context, tx pgx.Tx, v verification, client clientInfo) (*verified, error) {
	now := s.now()
	expiry := s.cfg.EmailOTPExpiry
	if isPhoneVerification(v.Type) {
		expiry = s.cfg.SMSOTPExpiry
	}
	// A token reaching OTPMaxAttempts is deleted by recordBadCode; checking the count here too
	// keeps concurrent guesses from using it in between.
	args := []any{tokenTypesFor(v.Type), now.Add(-expiry), s.cfg.OTPMaxAttempts}
	match := `link_hash = $4`
	if v.Link != "" {
		args = append(args, sha256Hex(v.Link))
	} else {
		match = `token_hash = $4 AND relates_to = $5`
		args = append(args, sha224Hex(v.Address+v.Code), v.Address)
	}
	var userID, tokenType string
	var fingerprint []byte
	err := tx.QueryRow(ctx, `DELETE FROM auth.one_time_tokens
		WHERE `+match+` AND token_type::text = ANY($1) AND created_at > $2 AND failed_attempts < $3
		RETURNING user_id, token_type::text, password_fingerprint`, args...).Scan(&userID, &tokenType, &fingerprint)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errBadCode
	case err != nil:
		return nil, internalError("Database error finding token", err)
	}
	u, err := findUserByID(ctx, tx, userID)
	if err != nil {
		return nil, internalError("Database error finding user", err)
	}
	if u.banned(now) {
		return nil, forbidden(CodeUserBanned, "User is banned")
	}

	firstConfirmation := !u.emailConfirmed() && !u.phoneConfirmed()
	provider := providerEmail
	switch tokenType {
	case tokenConfirmation, tokenRecovery:
		if isPhoneVerification(v.Type) {
			provider = providerPhone
			err = s.confirmPhone(ctx, tx, u, client, now)
		} else {
			err = s.confirmEmail(ctx, tx, u, client, now)
		}
	case tokenEmailChangeNew, tokenEmailChangeOld:
		var pending bool
		if pending, err = s.applyEmailChange(ctx, tx, u, tokenType, client, now); err == nil && pending {
			return &verified{HalfConfirmed: true}, nil
		}
	case tokenPhoneChange:
		provider = providerPhone
		err = s.applyPhoneChange(ctx, tx, u, client, now)
	}
	if err != nil {
		return nil, err
	}
	if firstConfirmation {
		if err := s.dropUnverifiedPassword(ctx, tx, u, fingerprint, client); err != nil {
			return nil, err
		}
	}
	if u, err = findUserByID(ctx, tx, userID); err != nil {
		return nil, internalError("Database error finding user", err)
	}

	if v.PKCE {
		code, err := issueAuthCode(ctx, tx, u.ID, pkceMethodFor(v.Type), now)
		if errors.Is(err, errNotFound) {
			return nil, badRequest(CodeFlowStateNotFound, "No associated flow state found")
		}
		if err != nil {
			return nil, internalError("Database error issuing auth code", err)
		}
		return &verified{AuthCode: code}, nil
	}
	resp, err := s.startSession(ctx, tx, newSession{User: u, Method: methodOTP, Provider: provider, Client: client})
	if err != nil {
		return nil, preserveAppError("Database error granting user", err)
	}
	return &verified{Session: resp}, nil
}

// confirmEmail marks the user's e-mail address confirmed (a sign-up confirmation, or a magic
// link or recovery of an unconfirmed user).
func (s *Service) confirmEmail(ctx context.Context, tx pgx.Tx, u *user, client clientInfo, now time.Time) error {
	if u.emailConfirmed() {
		return nil
	}
	if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"email_confirmed_at": now}); err != nil {
		return internalError("Error confirming user", err)
	}
	if err := setIdentityData(ctx, tx, u.ID, providerEmail, map[string]any{"email_verified": true}, now); err != nil {
		return internalError("Error confirming user", err)
	}
	return recordAudit(ctx, tx, u, auditSignedUp, map[string]any{"provider": providerEmail}, client, now)
}

func (s *Service) confirmPhone(ctx context.Context, tx pgx.Tx, u *user, client clientInfo, now time.Time) error {
	if u.phoneConfirmed() {
		return nil
	}
	if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"phone_confirmed_at": now}); err != nil {
		return internalError("Error confirming user", err)
	}
	if err := setIdentityData(ctx, tx, u.ID, providerPhone, map[string]any{"phone_verified": true}, now); err != nil {
		return internalError("Error confirming user", err)
	}
	return recordAudit(ctx, tx, u, auditSignedUp, map[string]any{"provider": providerPhone}, client, now)
}

// applyEmailChange completes one half of an e-mail change. With both an old and a new address
// involved each must confirm (secure e-mail change, always on): the first confirmation only
// records itself and reports pending. The second, or the only one for a user without an
// address, moves the address over.
func (s *Service) applyEmailChange(ctx context.Context, tx pgx.Tx, u *user, used string, client clientInfo, now time.Time) (pending bool, err error) {
	if u.EmailChange == "" {
		return false, errBadCode
	}
	var others int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM auth.one_time_tokens WHERE user_id = $1 AND token_type::text = ANY($2)`,
		u.ID, []string{tokenEmailChangeNew, tokenEmailChangeOld}).Scan(&others); err != nil {
		return false, internalError("Database error finding token", err)
	}
	if others > 0 {
		if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"email_change_confirm_status": 1}); err != nil {
			return false, internalError("Database error updating user", err)
		}
		return true, nil
	}
	newEmail := u.EmailChange
	err = updateUserColumns(ctx, tx, u.ID, now, map[string]any{
		"email": newEmail, "email_change": "", "email_change_confirm_status": 0,
		"email_confirmed_at": now, "is_anonymous": false,
	})
	if isUniqueViolation(err, "users_email_partial_key") {
		return false, unprocessable(CodeEmailExists, msgEmailExists).WithCause(err)
	}
	if err != nil {
		return false, internalError("Error confirming email change", err)
	}
	if err := s.ensureBuiltinIdentity(ctx, tx, u, providerEmail, map[string]any{"email": newEmail, "email_verified": true}, now); err != nil {
		return false, err
	}
	ev := securityEvent{UserID: u.ID, Type: eventEmailChanged, Details: map[string]any{"from": u.Email, "to": newEmail}}
	if err := ev.record(ctx, tx, client, now); err != nil {
		return false, err
	}
	return false, recordAudit(ctx, tx, u, auditUserModified, map[string]any{"email": newEmail}, client, now)
}

// applyPhoneChange moves the user to the phone number just confirmed.
func (s *Service) applyPhoneChange(ctx context.Context, tx pgx.Tx, u *user, client clientInfo, now time.Time) error {
	if u.PhoneChange == "" {
		return errBadCode
	}
	newPhone := u.PhoneChange
	err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{
		"phone": newPhone, "phone_change": "", "phone_confirmed_at": now, "is_anonymous": false,
	})
	if isUniqueViolation(err, "users_phone_key") {
		return unprocessable(CodePhoneExists, msgPhoneExists).WithCause(err)
	}
	if err != nil {
		return internalError("Error confirming phone change", err)
	}
	if err := s.ensureBuiltinIdentity(ctx, tx, u, providerPhone, map[string]any{"phone": newPhone, "phone_verified": true}, now); err != nil {
		return err
	}
	ev := securityEvent{UserID: u.ID, Type: eventPhoneChanged, Details: map[string]any{"from": u.Phone, "to": newPhone}}
	if err := ev.record(ctx, tx, client, now); err != nil {
		return err
	}
	return recordAudit(ctx, tx, u, auditUserModified, map[string]any{"phone": newPhone}, client, now)
}

// ensureBuiltinIdentity updates the user's email or phone identity with patch, creating it
// (and listing the provider in app_metadata) when the user had none, as an anonymous or
// phone-only user adding an e-mail address does.
func (s *Service) ensureBuiltinIdentity(ctx context.Context, tx pgx.Tx, u *user, provider string, patch map[string]any, now time.Time) error {
	for _, id := range u.Identities {
		if id.Provider == provider {
			if err := setIdentityData(ctx, tx, u.ID, provider, patch, now); err != nil {
				return internalError("Database error updating identity", err)
			}
			return nil
		}
	}
	if err := insertIdentity(ctx, tx, u.ID, provider, u.ID, patch, now); err != nil {
		return internalError("Database error creating identity", err)
	}
	if err := addProvider(ctx, tx, u, provider, now); err != nil {
		return internalError("Database error updating user", err)
	}
	return nil
}
