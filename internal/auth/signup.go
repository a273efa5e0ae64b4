package auth

import (
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/mailer"
)

// signupParams is the body of POST /signup.
type signupParams struct {
	Email    string         `json:"email"`
	Phone    string         `json:"phone"`
	Password string         `json:"password"`
	Data     map[string]any `json:"data"`
	Channel  string         `json:"channel"`
	pkceParams
}

// signup is POST /signup: a new e-mail or phone user (a session when confirmation is off, the
// bare user and a confirmation message when it is on), or an anonymous user when neither is
// given.
func (s *Service) signup(w http.ResponseWriter, r *http.Request) error {
	var p signupParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	if s.cfg.DisableSignup {
		return unprocessable(CodeSignupDisabled, msgSignupDisabled)
	}
	if err := checkMetadata(p.Data); err != nil {
		return err
	}
	switch {
	case p.Email == "" && p.Phone == "":
		return s.signupAnonymously(w, r, p)
	case p.Email != "" && p.Phone != "":
		return badRequest(CodeValidationFailed, "Only an email address or phone number should be provided on signup.")
	case p.Password == "":
		return unprocessable(CodeValidationFailed, "Signup requires a valid password")
	}
	if err := s.passwords.policy(p.Password); err != nil {
		return err
	}
	pkce, err := p.pkceParams.parse()
	if err != nil {
		return err
	}
	if p.Phone != "" {
		if pkce != nil {
			return badRequest(CodeValidationFailed, "PKCE not supported for phone signups")
		}
		if err := checkChannel(p.Channel); err != nil {
			return err
		}
	}

	var address string
	if p.Email != "" {
		address, err = normaliseEmail(p.Email)
	} else {
		address, err = normalisePhone(p.Phone)
	}
	if err != nil {
		return err
	}
	if err := s.limit(r, s.limits.otp, address); err != nil {
		return err
	}
	// Hashing before looking the address up makes a repeated sign-up take as long as a new one.
	hash, err := s.passwords.hash(r.Context(), p.Password)
	if err != nil {
		return err
	}
	cred := signupCredentials{password: p.Password, hash: hash}
	if p.Email != "" {
		return s.signupWithEmail(w, r, address, cred, p.Data, pkce)
	}
	return s.signupWithPhone(w, r, address, cred, p.Data)
}

// signupCredentials is the password of a sign-up, as given and hashed.
type signupCredentials struct {
	password, hash string
}

func (s *Service) signupWithEmail(w http.ResponseWriter, r *http.Request, email string, cred signupCredentials, data map[string]any, pkce *pkceChallenge) error {
	ctx, client := r.Context(), clientOf(r)
	existing, err := findUserByEmail(ctx, s.pool, email)
	if err != nil && !errors.Is(err, errNotFound) {
		return internalError("Database error finding user", err)
	}
	if existing != nil && (existing.emailConfirmed() || s.cfg.MailerAutoconfirm) {
		return s.repeatedSignup(w, r, existing, providerEmail, data)
	}
	setsPassword, err := s.repeatsPassword(ctx, existing, cred.password)
	if err != nil {
		return err
	}
	redirect := s.redirectTo(r)
	var resp any
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		u := existing
		if u == nil {
			var err error
			if u, err = s.createUser(ctx, tx, newUser{
				Email: email, PasswordHash: cred.hash, UserMetadata: data, Provider: providerEmail,
				EmailConfirmed: s.cfg.MailerAutoconfirm, IdentityProvider: providerEmail,
			}, client); err != nil {
				return err
			}
			if !s.cfg.MailerAutoconfirm {
				if err := markUnverifiedPassword(ctx, tx, u.ID, s.now()); err != nil {
					return err
				}
			}
		}
		if s.cfg.MailerAutoconfirm {
			resp, err = s.startSession(ctx, tx, newSession{User: u, Method: methodPassword, Provider: providerEmail, Client: client})
			return err
		}
		if err := recordAudit(ctx, tx, u, auditConfirmationRequested, map[string]any{"provider": providerEmail}, client, s.now()); err != nil {
			return err
		}
		if pkce != nil {
			if err := createFlowState(ctx, tx, u.ID, methodEmailSignup, providerEmail, *pkce, s.now()); err != nil {
				return err
			}
		}
		if _, err := s.sendCode(ctx, tx, outgoingCode{
			User: u, TokenType: tokenConfirmation, Address: email, VerifyType: verifySignup,
			MailKind: mailer.KindConfirmation, SentColumn: "confirmation_sent_at", LastSent: u.ConfirmationSentAt,
			RedirectTo: redirect, PKCE: pkce != nil, SetsPassword: setsPassword,
		}); err != nil {
			return err
		}
		resp, err = findUserByID(ctx, tx, u.ID)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, resp)
}

func (s *Service) signupWithPhone(w http.ResponseWriter, r *http.Request, phone string, cred signupCredentials, data map[string]any) error {
	ctx, client := r.Context(), clientOf(r)
	existing, err := findUserByPhone(ctx, s.pool, phone)
	if err != nil && !errors.Is(err, errNotFound) {
		return internalError("Database error finding user", err)
	}
	if existing != nil && (existing.phoneConfirmed() || s.cfg.PhoneAutoconfirm) {
		return s.repeatedSignup(w, r, existing, providerPhone, data)
	}
	setsPassword, err := s.repeatsPassword(ctx, existing, cred.password)
	if err != nil {
		return err
	}
	var resp any
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		u := existing
		if u == nil {
			var err error
			if u, err = s.createUser(ctx, tx, newUser{
				Phone: phone, PasswordHash: cred.hash, UserMetadata: data, Provider: providerPhone,
				PhoneConfirmed: s.cfg.PhoneAutoconfirm, IdentityProvider: providerPhone,
			}, client); err != nil {
				return err
			}
			if !s.cfg.PhoneAutoconfirm {
				if err := markUnverifiedPassword(ctx, tx, u.ID, s.now()); err != nil {
					return err
				}
			}
		}
		if s.cfg.PhoneAutoconfirm {
			resp, err = s.startSession(ctx, tx, newSession{User: u, Method: methodPassword, Provider: providerPhone, Client: client})
			return err
		}
		if err := recordAudit(ctx, tx, u, auditConfirmationRequested, map[string]any{"provider": providerPhone}, client, s.now()); err != nil {
			return err
		}
		if _, err := s.sendCode(ctx, tx, outgoingCode{
			User: u, TokenType: tokenConfirmation, Address: phone, SMS: true, VerifyType: verifySMS,
			SentColumn: "confirmation_sent_at", LastSent: u.ConfirmationSentAt, SetsPassword: setsPassword,
		}); err != nil {
			return err
		}
		resp, err = findUserByID(ctx, tx, u.ID)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, resp)
}

// repeatedSignup answers a sign-up for an address that already has an account. With
// confirmation off that is 422 user_already_exists, as GoTrue says; with it on, a made-up user
// (fresh id, no identities) so that the answer does not reveal the account, which is how
// apps learn "already registered" from identities being empty.
func (s *Service) repeatedSignup(w http.ResponseWriter, r *http.Request, existing *user, provider string, data map[string]any) error {
	now := s.now()
	if err := recordAudit(r.Context(), s.pool, existing, auditRepeatedSignUp, map[string]any{"provider": provider}, clientOf(r), now); err != nil {
		return internalError("Database error recording sign-up", err)
	}
	autoconfirm := s.cfg.MailerAutoconfirm
	if provider == providerPhone {
		autoconfirm = s.cfg.PhoneAutoconfirm
	}
	if autoconfirm {
		return unprocessable(CodeUserAlreadyExists, msgUserExists)
	}
	if data == nil {
		data = map[string]any{}
	}
	fake := &user{
		ID: newID(), Aud: existing.Aud, Role: existing.Role, ConfirmationSentAt: &now,
		AppMetadata:  map[string]any{"provider": provider, "providers": []string{provider}},
		UserMetadata: data, Identities: []identity{}, CreatedAt: now, UpdatedAt: now,
	}
	if provider == providerEmail {
		fake.Email = existing.Email
	} else {
		fake.Phone = existing.Phone
	}
	return writeJSON(w, fake)
}

// createUser inserts a user, turning the failures users can cause into GoTrue's answers: a
// concurrent sign-up of the same address is 422 user_already_exists, and anything else, such
// as an app's trigger on auth.users raising, is 500 "Database error saving new user".
func (s *Service) createUser(ctx context.Context, tx pgx.Tx, nu newUser, client clientInfo) (*user, error) {
	now := s.now()
	if nu.IdentityProvider == providerEmail || nu.IdentityProvider == providerPhone {
		nu.IdentityData = builtinIdentityData(nu.Email, nu.Phone, nu.EmailConfirmed, nu.PhoneConfirmed)
	}
	if err := s.beforeUserCreated(ctx, nu); err != nil {
		return nil, err
	}
	u, err := insertUser(ctx, tx, nu, now)
	switch {
	case isUniqueViolation(err, "users_email_partial_key") || isUniqueViolation(err, "users_phone_key"):
		return nil, unprocessable(CodeUserAlreadyExists, msgUserExists).WithCause(err)
	case err != nil:
		return nil, internalError("Database error saving new user", err)
	}
	if err := recordAudit(ctx, tx, u, auditSignedUp, map[string]any{"provider": nu.Provider}, client, now); err != nil {
		return nil, err
	}
	ev := securityEvent{UserID: u.ID, Type: eventSignUp, Details: map[string]any{"provider": nu.Provider}}
	if err := ev.record(ctx, tx, client, now); err != nil {
		return nil, err
	}
	return u, nil
}

// signupAnonymously is POST /signup without e-mail or phone (supabase.auth.signInAnonymously).
func (s *Service) signupAnonymously(w http.ResponseWriter, r *http.Request, p signupParams) error {
	if !s.cfg.AnonymousUsers {
		return unprocessable(CodeAnonymousProviderDisabled, "Anonymous sign-ins are disabled")
	}
	if p.Password != "" {
		return badRequest(CodeValidationFailed, "Signup requires an email address or phone number with a password")
	}
	if err := s.limit(r, s.limits.anonymous); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	var resp *sessionResponse
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		u, err := s.createUser(ctx, tx, newUser{UserMetadata: p.Data, Anonymous: true, Provider: providerAnonymous}, client)
		if err != nil {
			return err
		}
		resp, err = s.startSession(ctx, tx, newSession{User: u, Method: methodAnonymous, Provider: providerAnonymous, Client: client})
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, resp)
}

// checkChannel accepts GoTrue's SMS channels; WhatsApp messages go through the same sender.
func checkChannel(channel string) error {
	switch channel {
	case "", "sms", "whatsapp":
		return nil
	}
	return badRequest(CodeValidationFailed, "Invalid channel, supported values are 'sms' or 'whatsapp'")
}
