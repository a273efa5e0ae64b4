package auth

import (
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/mailer"
)

// otpParams is the body of POST /otp (and of the legacy POST /magiclink).
type otpParams struct {
	Email      string         `json:"email"`
	Phone      string         `json:"phone"`
	Data       map[string]any `json:"data"`
	CreateUser *bool          `json:"create_user"`
	Channel    string         `json:"channel"`
	pkceParams
}

// otp is POST /otp (supabase.auth.signInWithOtp): it mails a magic link and code, or texts a
// code, creating the user first unless create_user is false.
func (s *Service) otp(w http.ResponseWriter, r *http.Request) error {
	var p otpParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	switch {
	case p.Email != "" && p.Phone != "":
		return badRequest(CodeValidationFailed, "Only an email address or phone number should be provided")
	case p.Email == "" && p.Phone == "":
		return badRequest(CodeValidationFailed, "An email address or phone number is required")
	case p.Phone != "":
		return s.otpByPhone(w, r, p)
	}
	return s.otpByEmail(w, r, p)
}

// magicLink is the legacy POST /magiclink: /otp for an e-mail address.
func (s *Service) magicLink(w http.ResponseWriter, r *http.Request) error {
	var p otpParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	if p.Email == "" {
		return badRequest(CodeValidationFailed, "An email address is required")
	}
	p.Phone = ""
	return s.otpByEmail(w, r, p)
}

func (s *Service) otpByEmail(w http.ResponseWriter, r *http.Request, p otpParams) error {
	email, err := normaliseEmail(p.Email)
	if err != nil {
		return err
	}
	pkce, err := p.pkceParams.parse()
	if err != nil {
		return err
	}
	if err := checkMetadata(p.Data); err != nil {
		return err
	}
	if err := s.limit(r, s.limits.otp, email); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	redirect := s.redirectTo(r)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		// The send limit comes before the lookup, so that it answers alike for every address.
		if err := s.claimSend(ctx, tx, channelEmail, email); err != nil {
			return err
		}
		u, err := findUserByEmail(ctx, tx, email)
		if err != nil && !errors.Is(err, errNotFound) {
			return internalError("Database error finding user", err)
		}
		if err := s.mayCreate(u, p.CreateUser); err != nil {
			return err
		}
		if u == nil {
			if u, err = s.createUser(ctx, tx, newUser{
				Email: email, UserMetadata: p.Data, Provider: providerEmail, IdentityProvider: providerEmail,
			}, client); err != nil {
				return err
			}
		}
		// A confirmed user gets a magic link; a new or unconfirmed one a sign-up confirmation,
		// which signs in just the same and confirms the address on the way.
		code := outgoingCode{
			User: u, TokenType: tokenRecovery, Address: email, VerifyType: verifyMagicLink,
			MailKind: mailer.KindMagicLink, SentColumn: "recovery_sent_at", LastSent: u.RecoverySentAt,
			RedirectTo: redirect, PKCE: pkce != nil,
		}
		method := methodMagicLink
		if !u.emailConfirmed() {
			code.TokenType, code.VerifyType, code.MailKind = tokenConfirmation, verifySignup, mailer.KindConfirmation
			code.SentColumn, code.LastSent = "confirmation_sent_at", u.ConfirmationSentAt
			method = methodEmailSignup
		}
		if pkce != nil {
			if err := createFlowState(ctx, tx, u.ID, method, providerEmail, *pkce, s.now()); err != nil {
				return err
			}
		}
		_, err = s.sendCode(ctx, tx, code)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{})
}

func (s *Service) otpByPhone(w http.ResponseWriter, r *http.Request, p otpParams) error {
	phone, err := normalisePhone(p.Phone)
	if err != nil {
		return err
	}
	if err := checkChannel(p.Channel); err != nil {
		return err
	}
	if err := checkMetadata(p.Data); err != nil {
		return err
	}
	if err := s.limit(r, s.limits.otp, phone); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	var messageID string
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.claimSend(ctx, tx, channelSMS, phone); err != nil {
			return err
		}
		u, err := findUserByPhone(ctx, tx, phone)
		if err != nil && !errors.Is(err, errNotFound) {
			return internalError("Database error finding user", err)
		}
		if err := s.mayCreate(u, p.CreateUser); err != nil {
			return err
		}
		if u == nil {
			if u, err = s.createUser(ctx, tx, newUser{
				Phone: phone, UserMetadata: p.Data, Provider: providerPhone, IdentityProvider: providerPhone,
			}, client); err != nil {
				return err
			}
		}
		messageID, err = s.sendCode(ctx, tx, outgoingCode{
			User: u, TokenType: tokenConfirmation, Address: phone, SMS: true, VerifyType: verifySMS,
			SentColumn: "confirmation_sent_at", LastSent: u.ConfirmationSentAt,
		})
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{"message_id": messageID})
}

// mayCreate decides whether /otp may create the missing user: not when the client said
// create_user: false (GoTrue's 422 otp_disabled) or sign-ups are off.
func (s *Service) mayCreate(existing *user, createUser *bool) error {
	if existing != nil {
		return nil
	}
	if createUser != nil && !*createUser {
		return unprocessable(CodeOTPDisabled, "Signups not allowed for otp")
	}
	if s.cfg.DisableSignup {
		return unprocessable(CodeSignupDisabled, msgSignupDisabled)
	}
	return nil
}
