package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"

	"github.com/jackc/pgx/v5"
)

// CustomProvider signs users in against something Go Forward does not know: a company
// directory, a legacy user table, a partner's API. It is the original design's
// CustomAuthProvider. Clients call POST /auth/v1/token?grant_type=custom&provider=<Name()>
// with any JSON object as body; Authenticate receives that object (without "provider" and
// "gotrue_meta_security") and says who the user is. The service then finds the user by the
// identity (Name(), ExternalIdentity.ID), links it to an existing account with the same
// verified e-mail address, or creates the user, and returns a normal session.
type CustomProvider interface {
	// Name identifies the provider in the query string, in app_metadata.providers and in
	// auth.identities.provider: lower-case letters, digits, '_' and '-'. It must not be
	// email, phone or anonymous.
	Name() string
	// Authenticate checks credentials and returns the external identity. A returned error
	// wrapping ErrInvalidCredentials becomes 400 invalid_credentials; any other error is a
	// 500 whose text is logged, never sent.
	Authenticate(ctx context.Context, credentials map[string]any) (ExternalIdentity, error)
}

// CredentialsValidator is implemented by providers that can reject malformed credentials
// before authenticating (the original design's ValidateCredentials). A returned error becomes
// 400 validation_failed with the error's text as message, so it must not contain secrets.
type CredentialsValidator interface {
	ValidateCredentials(credentials map[string]any) error
}

// ExternalIdentity is who a CustomProvider says the user is.
type ExternalIdentity struct {
	// ID is the provider's stable id for the user; required.
	ID string
	// Email is the user's address, if the provider knows one.
	Email string
	// EmailVerified says the provider has verified Email. Only a verified address is linked
	// to an existing account with that address, or marks a new account confirmed.
	EmailVerified bool
	// Metadata becomes the identity's identity_data and a new user's user_metadata.
	Metadata map[string]any
}

// ErrInvalidCredentials is what a CustomProvider returns (or wraps) for credentials that do
// not authenticate anyone.
var ErrInvalidCredentials = errors.New("auth: invalid credentials")

var providerNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func registerProviders(list []CustomProvider) (map[string]CustomProvider, error) {
	out := make(map[string]CustomProvider, len(list))
	for _, p := range list {
		if p == nil {
			return nil, errors.New("auth: a custom provider is nil")
		}
		name := p.Name()
		switch {
		case !providerNamePattern.MatchString(name):
			return nil, fmt.Errorf("auth: custom provider name %q must be lower-case letters, digits, '_' and '-'", name)
		case name == providerEmail || name == providerPhone || name == providerAnonymous:
			return nil, fmt.Errorf("auth: custom provider name %q is reserved", name)
		case out[name] != nil:
			return nil, fmt.Errorf("auth: two custom providers are named %q", name)
		}
		out[name] = p
	}
	return out, nil
}

// customGrant is POST /token?grant_type=custom&provider=NAME (provider may also be in the body).
func (s *Service) customGrant(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	name := r.URL.Query().Get("provider")
	if name == "" {
		name, _ = body["provider"].(string)
	}
	provider, ok := s.providers[name]
	if !ok {
		return badRequest(CodeProviderDisabled, "Unsupported provider: provider %q is not registered", name)
	}
	if err := s.limit(r, s.limits.token); err != nil {
		return err
	}
	delete(body, "provider")
	delete(body, "gotrue_meta_security")
	if v, ok := provider.(CredentialsValidator); ok {
		if err := v.ValidateCredentials(body); err != nil {
			return badRequest(CodeValidationFailed, "%s", err.Error())
		}
	}
	ctx, client := r.Context(), clientOf(r)
	ext, err := provider.Authenticate(ctx, body)
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		ev := securityEvent{Type: eventSignInFailed, Details: map[string]any{"provider": name}}
		if err := ev.record(ctx, s.pool, client, s.now()); err != nil {
			return internalError("Database error recording a failed sign-in", err)
		}
		return badRequest(CodeInvalidCredentials, msgInvalidCredentials)
	case err != nil:
		return internalError("Custom provider failed", fmt.Errorf("provider %s: %w", name, err))
	case ext.ID == "":
		return internalError("Custom provider failed", fmt.Errorf("provider %s returned an identity without ID", name))
	}
	if ext.Email != "" {
		if ext.Email, err = normaliseEmail(ext.Email); err != nil {
			return internalError("Custom provider failed", fmt.Errorf("provider %s returned an invalid e-mail address: %w", name, err))
		}
	}

	var resp *sessionResponse
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		u, err := s.userForIdentity(ctx, tx, name, ext, client)
		if err != nil {
			return err
		}
		if u.banned(s.now()) {
			return badRequest(CodeUserBanned, "User is banned")
		}
		resp, err = s.startSession(ctx, tx, newSession{User: u, Method: methodCustom, Provider: name, Client: client})
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, resp)
}

// userForIdentity returns the user behind (provider, ext.ID): the one already linked, else
// the account with ext's verified e-mail address (linking the identity to it), else a new
// user.
func (s *Service) userForIdentity(ctx context.Context, tx pgx.Tx, provider string, ext ExternalIdentity, client clientInfo) (*user, error) {
	now := s.now()
	data := identityData(ext)
	var userID string
	err := tx.QueryRow(ctx, `UPDATE auth.identities SET identity_data = $3, updated_at = $4
		WHERE provider = $1 AND provider_id = $2 RETURNING user_id`, provider, ext.ID, data, now).Scan(&userID)
	switch {
	case err == nil:
		return findUserByID(ctx, tx, userID)
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, internalError("Database error finding identity", err)
	}

	if ext.Email != "" {
		existing, err := findUserByEmail(ctx, tx, ext.Email)
		switch {
		case err == nil && ext.EmailVerified:
			if err := insertIdentity(ctx, tx, existing.ID, provider, ext.ID, data, now); err != nil {
				return nil, internalError("Database error linking identity", err)
			}
			if err := addProvider(ctx, tx, existing, provider, now); err != nil {
				return nil, internalError("Database error linking identity", err)
			}
			return findUserByID(ctx, tx, existing.ID)
		case err == nil:
			return nil, unprocessable(CodeEmailExists, msgEmailExists)
		case !errors.Is(err, errNotFound):
			return nil, internalError("Database error finding user", err)
		}
	}
	if s.cfg.DisableSignup {
		return nil, unprocessable(CodeSignupDisabled, msgSignupDisabled)
	}
	return s.createUser(ctx, tx, newUser{
		Email: ext.Email, UserMetadata: ext.Metadata, Provider: provider,
		EmailConfirmed:   ext.Email != "" && ext.EmailVerified,
		IdentityProvider: provider, IdentityID: ext.ID, IdentityData: data,
	}, client)
}

// identityData is what the identity records: the provider's metadata plus sub, email and
// email_verified, as GoTrue keeps them for OAuth identities.
func identityData(ext ExternalIdentity) map[string]any {
	// A copy: the metadata also becomes user_metadata, without these keys.
	data := maps.Clone(ext.Metadata)
	if data == nil {
		data = map[string]any{}
	}
	data["sub"] = ext.ID
	data["email_verified"] = ext.EmailVerified
	if ext.Email != "" {
		data["email"] = ext.Email
	}
	return data
}
