package auth_test

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

// directory is the example custom provider: a company directory that knows employees by
// badge number and PIN, as an app embedding Go Forward would register one.
type directory struct {
	employees map[string]employee
}

type employee struct {
	pin, email, name string
	verified         bool
}

func newDirectory() *directory {
	return &directory{employees: map[string]employee{
		"1001": {pin: "4321", email: "grace@example.com", name: "Grace", verified: true},
		"1002": {pin: "8765", name: "Alan"},
		"1003": {pin: "1111", email: "mallory@example.com", name: "Mallory"},
	}}
}

func (d *directory) Name() string { return "directory" }

func (d *directory) ValidateCredentials(credentials map[string]any) error {
	if _, ok := credentials["badge"].(string); !ok {
		return errors.New("badge is required")
	}
	if _, ok := credentials["pin"].(string); !ok {
		return errors.New("pin is required")
	}
	return nil
}

func (d *directory) Authenticate(_ context.Context, credentials map[string]any) (auth.ExternalIdentity, error) {
	badge, _ := credentials["badge"].(string)
	pin, _ := credentials["pin"].(string)
	emp, ok := d.employees[badge]
	if !ok || subtle.ConstantTimeCompare([]byte(emp.pin), []byte(pin)) != 1 {
		return auth.ExternalIdentity{}, auth.ErrInvalidCredentials
	}
	return auth.ExternalIdentity{
		ID: "badge-" + badge, Email: emp.email, EmailVerified: emp.verified,
		Metadata: map[string]any{"name": emp.name, "badge": badge},
	}, nil
}

func TestCustomProviderCreatesAndLinksUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{deps: func(d *auth.Deps) { d.Providers = []auth.CustomProvider{newDirectory()} }})
	grant := func(query string, body map[string]any) (int, map[string]any) {
		return e.call(t, "POST", "/auth/v1/token?grant_type=custom"+query, body, "")
	}

	// First sign-in creates the user from the directory's answer.
	status, body := grant("&provider=directory", map[string]any{"badge": "1001", "pin": "4321"})
	s := sessionOf(t, status, body)
	require.Equal(t, "grace@example.com", s.User["email"])
	require.NotEmpty(t, s.User["email_confirmed_at"], "the directory verified the address")
	require.Equal(t, "Grace", s.User["user_metadata"].(map[string]any)["name"])
	require.Equal(t, map[string]any{"provider": "directory", "providers": []any{"directory"}}, s.User["app_metadata"])
	identity := s.User["identities"].([]any)[0].(map[string]any)
	require.Equal(t, "directory", identity["provider"])
	require.Equal(t, "badge-1001", identity["id"])
	require.Equal(t, "custom", claimsOf(t, s.AccessToken)["amr"].([]any)[0].(map[string]any)["method"])

	// The provider may also be named in the body; the same identity finds the same user.
	status, body = grant("", map[string]any{"provider": "directory", "badge": "1001", "pin": "4321"})
	again := sessionOf(t, status, body)
	require.Equal(t, s.User["id"], again.User["id"])

	// A user without an address.
	status, body = grant("&provider=directory", map[string]any{"badge": "1002", "pin": "8765"})
	require.Equal(t, "", sessionOf(t, status, body).User["email"])

	// Wrong PIN, missing field, unknown provider.
	status, body = grant("&provider=directory", map[string]any{"badge": "1001", "pin": "0000"})
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
	status, body = grant("&provider=directory", map[string]any{"badge": "1001"})
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	require.Equal(t, "pin is required", body["message"])
	status, body = grant("&provider=nope", map[string]any{})
	requireError(t, status, body, http.StatusBadRequest, "provider_disabled")
	require.Equal(t, 2, e.count(t, `SELECT count(*) FROM auth.users`))
}

func TestCustomProviderLinksOnlyVerifiedAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{deps: func(d *auth.Deps) { d.Providers = []auth.CustomProvider{newDirectory()} }})
	grace := e.signUpConfirmed(t, "grace@example.com")
	e.signUpConfirmed(t, "mallory@example.com")

	// Grace's verified directory identity joins her existing account.
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=custom&provider=directory", map[string]any{"badge": "1001", "pin": "4321"}, "")
	s := sessionOf(t, status, body)
	require.Equal(t, grace.User["id"], s.User["id"])
	require.Len(t, s.User["identities"], 2)
	require.Equal(t, []any{"email", "directory"}, s.User["app_metadata"].(map[string]any)["providers"])

	// An unverified address must not take over the account that owns it.
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=custom&provider=directory", map[string]any{"badge": "1003", "pin": "1111"}, "")
	requireError(t, status, body, http.StatusUnprocessableEntity, "email_exists")
}

func TestCustomProviderNamesAreChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []auth.CustomProvider{namedProvider("email"), namedProvider("Has Space"), nil} {
		_, err := auth.New(auth.Config{}, auth.Deps{Pool: e.DB.Pool, Keys: e.Keys, Providers: []auth.CustomProvider{p}})
		require.Error(t, err)
	}
	_, err := auth.New(auth.Config{}, auth.Deps{Pool: e.DB.Pool, Keys: e.Keys, Providers: []auth.CustomProvider{namedProvider("a"), namedProvider("a")}})
	require.Error(t, err)
}

type namedProvider string

func (n namedProvider) Name() string { return string(n) }

func (namedProvider) Authenticate(context.Context, map[string]any) (auth.ExternalIdentity, error) {
	return auth.ExternalIdentity{}, auth.ErrInvalidCredentials
}
