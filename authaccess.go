package goforward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Auth is the server's auth service, for code running inside serve.
type Auth interface {
	// CreateUser creates a user as supabase.auth.admin.createUser does (POST
	// /auth/v1/admin/users with the service-role key): no mail is sent, the address is
	// confirmed only when u says so, the password must meet auth's password policy, and the
	// before-user-created hooks run. It is recorded in the audit log as the service role's.
	// A refusal (an address already in use, a weak password) is an error with GoTrue's
	// message. It fails before serve has built the auth service, and on a node that does
	// not run it.
	CreateUser(ctx context.Context, u NewUser) (User, error)
	// VerifyToken is App.VerifyToken.
	VerifyToken(token string) (Principal, error)
}

// NewUser is what CreateUser creates: an e-mail address, a phone number or both.
type NewUser struct {
	Email string
	Phone string
	// Password is optional: without one, the user signs in with a one-time code or after a
	// recovery.
	Password string
	// EmailConfirm and PhoneConfirm mark the address and the number confirmed.
	EmailConfirm bool
	PhoneConfirm bool
	// UserMetadata is the user's own (user_metadata); AppMetadata only the server and admins
	// change (app_metadata).
	UserMetadata map[string]any
	AppMetadata  map[string]any
}

// User is a user as the auth service stores it.
type User struct {
	ID           string         `json:"id"`
	Email        string         `json:"email"`
	Phone        string         `json:"phone"`
	Role         string         `json:"role"`
	UserMetadata map[string]any `json:"user_metadata"`
	AppMetadata  map[string]any `json:"app_metadata"`
	CreatedAt    time.Time      `json:"created_at"`
}

// Auth returns the auth service of the running server.
func (a *App) Auth() Auth { return authAccess{a} }

type authAccess struct{ a *App }

func (x authAccess) VerifyToken(token string) (Principal, error) { return x.a.VerifyToken(token) }

func (x authAccess) CreateUser(ctx context.Context, u NewUser) (User, error) {
	x.a.mu.Lock()
	create := x.a.createUser
	x.a.mu.Unlock()
	if create == nil {
		return User{}, errors.New("goforward: CreateUser: the auth service is not running")
	}
	// The body of POST /auth/v1/admin/users, without the fields u leaves empty.
	body, err := json.Marshal(struct {
		Email        string         `json:"email,omitempty"`
		Phone        string         `json:"phone,omitempty"`
		Password     string         `json:"password,omitempty"`
		EmailConfirm bool           `json:"email_confirm,omitempty"`
		PhoneConfirm bool           `json:"phone_confirm,omitempty"`
		UserMetadata map[string]any `json:"user_metadata,omitempty"`
		AppMetadata  map[string]any `json:"app_metadata,omitempty"`
	}{u.Email, u.Phone, u.Password, u.EmailConfirm, u.PhoneConfirm, u.UserMetadata, u.AppMetadata})
	if err != nil {
		return User{}, fmt.Errorf("goforward: CreateUser: %w", err)
	}
	raw, err := create(ctx, body)
	if err != nil {
		return User{}, fmt.Errorf("goforward: CreateUser: %w", err)
	}
	var out User
	if err := json.Unmarshal(raw, &out); err != nil {
		return User{}, fmt.Errorf("goforward: CreateUser: %w", err)
	}
	return out, nil
}

func (a *App) setCreateUser(fn func(ctx context.Context, body json.RawMessage) (json.RawMessage, error)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.createUser = fn
}
