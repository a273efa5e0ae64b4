package goforward

import (
	"context"
	"fmt"
	"regexp"

	"github.com/goforward/goforward/internal/auth"
)

// AuthProvider signs users in against something Go Forward does not know: a company
// directory, a legacy user table, a partner's API. Clients call
// POST /auth/v1/token?grant_type=custom&provider=NAME with any JSON object as body (in
// supabase-js, a fetch to that URL with the apikey header); Authenticate receives that
// object without "provider" and "gotrue_meta_security" and says who the user is. Go Forward
// then finds the user by (NAME, ExternalIdentity.ID), links the identity to an existing
// account with the same verified e-mail address, or creates the user, and answers with a
// normal session.
//
// A returned error wrapping ErrInvalidCredentials becomes 400 invalid_credentials (and a
// failed sign-in in the audit log); any other error is a 500 whose text is logged, never
// sent. A provider that also has a method ValidateCredentials(map[string]any) error has it
// called first: its error becomes 400 validation_failed with the error's text as message,
// so that text must not hold secrets.
type AuthProvider interface {
	Authenticate(ctx context.Context, credentials map[string]any) (ExternalIdentity, error)
}

// ExternalIdentity is who an AuthProvider says the user is.
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

// ErrInvalidCredentials is what an AuthProvider returns (or wraps) for credentials that do
// not authenticate anyone.
var ErrInvalidCredentials = auth.ErrInvalidCredentials

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// AuthProvider registers p with the auth service as provider name for grant_type=custom.
// The name appears in the query string, in app_metadata.providers and in
// auth.identities.provider: lower-case letters, digits, '_' and '-', and not email, phone or
// anonymous.
func (a *App) AuthProvider(name string, p AuthProvider) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case p == nil:
		return fmt.Errorf("goforward: auth provider %q is nil", name)
	case !providerName.MatchString(name):
		return fmt.Errorf("goforward: auth provider name %q must be lower-case letters, digits, '_' and '-'", name)
	case name == "email" || name == "phone" || name == "anonymous":
		return fmt.Errorf("goforward: auth provider name %q is reserved", name)
	case a.providers[name]:
		return fmt.Errorf("goforward: auth provider %q is already registered", name)
	}
	a.providers[name] = true
	a.emb.Providers = append(a.emb.Providers, customProvider{name: name, p: p})
	return nil
}

// customProvider adapts an AuthProvider to the auth service's CustomProvider.
type customProvider struct {
	name string
	p    AuthProvider
}

func (c customProvider) Name() string { return c.name }

func (c customProvider) Authenticate(ctx context.Context, credentials map[string]any) (auth.ExternalIdentity, error) {
	ext, err := c.p.Authenticate(ctx, credentials)
	return auth.ExternalIdentity{ID: ext.ID, Email: ext.Email, EmailVerified: ext.EmailVerified, Metadata: ext.Metadata}, err
}

func (c customProvider) ValidateCredentials(credentials map[string]any) error {
	if v, ok := c.p.(interface{ ValidateCredentials(map[string]any) error }); ok {
		return v.ValidateCredentials(credentials)
	}
	return nil
}
