package auth

import (
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// audience is the aud claim and auth.users.aud of every user, as on GoTrue by default.
const audience = "authenticated"

// roleAuthenticated is the role of every signed-in user, anonymous ones included.
const roleAuthenticated = "authenticated"

// Providers of the built-in identities, as GoTrue names them in app_metadata.
const (
	providerEmail     = "email"
	providerPhone     = "phone"
	providerAnonymous = "anonymous"
)

// user is a row of auth.users with its identities and MFA factors. Its JSON is GoTrue's User
// object: secrets are never serialised, absent timestamps are left out, email and phone are
// "" rather than null.
type user struct {
	ID                       string         `json:"id"`
	Aud                      string         `json:"aud"`
	Role                     string         `json:"role"`
	Email                    string         `json:"email"`
	EmailConfirmedAt         *time.Time     `json:"email_confirmed_at,omitempty"`
	Phone                    string         `json:"phone"`
	PhoneConfirmedAt         *time.Time     `json:"phone_confirmed_at,omitempty"`
	ConfirmationSentAt       *time.Time     `json:"confirmation_sent_at,omitempty"`
	ConfirmedAt              *time.Time     `json:"confirmed_at,omitempty"`
	RecoverySentAt           *time.Time     `json:"recovery_sent_at,omitempty"`
	EmailChange              string         `json:"new_email,omitempty"`
	EmailChangeSentAt        *time.Time     `json:"email_change_sent_at,omitempty"`
	PhoneChange              string         `json:"new_phone,omitempty"`
	PhoneChangeSentAt        *time.Time     `json:"phone_change_sent_at,omitempty"`
	ReauthenticationSentAt   *time.Time     `json:"reauthentication_sent_at,omitempty"`
	InvitedAt                *time.Time     `json:"invited_at,omitempty"`
	LastSignInAt             *time.Time     `json:"last_sign_in_at,omitempty"`
	AppMetadata              map[string]any `json:"app_metadata"`
	UserMetadata             map[string]any `json:"user_metadata"`
	Identities               []identity     `json:"identities"`
	Factors                  []factor       `json:"factors,omitempty"`
	CreatedAt                time.Time      `json:"created_at"`
	UpdatedAt                time.Time      `json:"updated_at"`
	BannedUntil              *time.Time     `json:"banned_until,omitempty"`
	DeletedAt                *time.Time     `json:"deleted_at,omitempty"`
	IsAnonymous              bool           `json:"is_anonymous"`
	EncryptedPassword        string         `json:"-"`
	EmailChangeConfirmStatus int            `json:"-"`
	IsSSOUser                bool           `json:"-"`
}

// identity is a row of auth.identities, in GoTrue's JSON: identity_id is the row's key and id
// the provider's id for the user.
type identity struct {
	IdentityID   string         `json:"identity_id"`
	ID           string         `json:"id"`
	UserID       string         `json:"user_id"`
	IdentityData map[string]any `json:"identity_data"`
	Provider     string         `json:"provider"`
	LastSignInAt *time.Time     `json:"last_sign_in_at,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	Email        string         `json:"email,omitempty"`
}

// factor is a row of auth.mfa_factors as GoTrue lists it in the user's factors.
type factor struct {
	ID               string     `json:"id"`
	FriendlyName     string     `json:"friendly_name,omitempty"`
	FactorType       string     `json:"factor_type"`
	Status           string     `json:"status"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	LastChallengedAt *time.Time `json:"last_challenged_at,omitempty"`
	Phone            string     `json:"phone,omitempty"`
}

// userColumns selects a user with its identities and factors as JSON arrays; scanUser reads it.
const userColumns = `u.id, coalesce(u.aud, ''), coalesce(u.role, ''), coalesce(u.email, ''),
	coalesce(u.encrypted_password, ''), u.email_confirmed_at, coalesce(u.phone, ''),
	u.phone_confirmed_at, u.confirmation_sent_at, u.confirmed_at, u.recovery_sent_at,
	coalesce(u.email_change, ''), u.email_change_sent_at, coalesce(u.phone_change, ''),
	u.phone_change_sent_at, u.reauthentication_sent_at, u.invited_at, u.last_sign_in_at,
	coalesce(u.raw_app_meta_data, '{}'), coalesce(u.raw_user_meta_data, '{}'),
	coalesce(u.created_at, now()), coalesce(u.updated_at, now()), u.banned_until, u.deleted_at,
	u.is_anonymous, coalesce(u.email_change_confirm_status, 0), u.is_sso_user,
	coalesce((SELECT json_agg(json_build_object(
		'identity_id', i.id, 'id', i.provider_id, 'user_id', i.user_id,
		'identity_data', i.identity_data, 'provider', i.provider,
		'last_sign_in_at', i.last_sign_in_at, 'created_at', i.created_at,
		'updated_at', i.updated_at, 'email', coalesce(i.email, '')) ORDER BY i.created_at, i.id)
		FROM auth.identities i WHERE i.user_id = u.id), '[]'),
	coalesce((SELECT json_agg(json_build_object(
		'id', f.id, 'friendly_name', coalesce(f.friendly_name, ''), 'factor_type', f.factor_type,
		'status', f.status, 'created_at', f.created_at, 'updated_at', f.updated_at,
		'last_challenged_at', f.last_challenged_at, 'phone', coalesce(f.phone, ''))
		ORDER BY f.created_at) FROM auth.mfa_factors f WHERE f.user_id = u.id), '[]')`

// scanUser reads the columns of userColumns, followed by extra destinations.
func scanUser(row pgx.Row, extra ...any) (*user, error) {
	var (
		u                  user
		appMeta, userMeta  []byte
		identities, factor []byte
	)
	dest := []any{
		&u.ID, &u.Aud, &u.Role, &u.Email, &u.EncryptedPassword, &u.EmailConfirmedAt, &u.Phone,
		&u.PhoneConfirmedAt, &u.ConfirmationSentAt, &u.ConfirmedAt, &u.RecoverySentAt,
		&u.EmailChange, &u.EmailChangeSentAt, &u.PhoneChange, &u.PhoneChangeSentAt,
		&u.ReauthenticationSentAt, &u.InvitedAt, &u.LastSignInAt, &appMeta, &userMeta,
		&u.CreatedAt, &u.UpdatedAt, &u.BannedUntil, &u.DeletedAt, &u.IsAnonymous,
		&u.EmailChangeConfirmStatus, &u.IsSSOUser, &identities, &factor,
	}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(appMeta, &u.AppMetadata); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(userMeta, &u.UserMetadata); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(identities, &u.Identities); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(factor, &u.Factors); err != nil {
		return nil, err
	}
	u.normalise()
	return &u, nil
}

// normalise puts every timestamp in UTC (GoTrue writes them with a Z) and replaces JSON
// nulls by empty objects, which clients index into without checking.
func (u *user) normalise() {
	for _, t := range []**time.Time{
		&u.EmailConfirmedAt, &u.PhoneConfirmedAt, &u.ConfirmationSentAt, &u.ConfirmedAt,
		&u.RecoverySentAt, &u.EmailChangeSentAt, &u.PhoneChangeSentAt,
		&u.ReauthenticationSentAt, &u.InvitedAt, &u.LastSignInAt, &u.BannedUntil, &u.DeletedAt,
	} {
		if *t != nil {
			utc := (*t).UTC()
			*t = &utc
		}
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if u.AppMetadata == nil {
		u.AppMetadata = map[string]any{}
	}
	if u.UserMetadata == nil {
		u.UserMetadata = map[string]any{}
	}
	if u.Identities == nil {
		u.Identities = []identity{}
	}
	for i := range u.Identities {
		id := &u.Identities[i]
		id.CreatedAt, id.UpdatedAt = id.CreatedAt.UTC(), id.UpdatedAt.UTC()
		if id.LastSignInAt != nil {
			utc := id.LastSignInAt.UTC()
			id.LastSignInAt = &utc
		}
		if id.IdentityData == nil {
			id.IdentityData = map[string]any{}
		}
	}
	for i := range u.Factors {
		f := &u.Factors[i]
		f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
		if f.LastChallengedAt != nil {
			utc := f.LastChallengedAt.UTC()
			f.LastChallengedAt = &utc
		}
	}
}

// emailConfirmed reports whether the user's e-mail address is confirmed.
func (u *user) emailConfirmed() bool { return u.EmailConfirmedAt != nil }

// phoneConfirmed reports whether the user's phone number is confirmed.
func (u *user) phoneConfirmed() bool { return u.PhoneConfirmedAt != nil }

// banned reports whether the user is banned at now.
func (u *user) banned(now time.Time) bool {
	return u.BannedUntil != nil && now.Before(*u.BannedUntil)
}

// hasVerifiedFactor reports whether the user has a verified MFA factor, in which case
// changing credentials needs an aal2 session.
func (u *user) hasVerifiedFactor() bool {
	for _, f := range u.Factors {
		if f.Status == "verified" {
			return true
		}
	}
	return false
}

// providers is app_metadata.providers as a list of strings.
func (u *user) providers() []string {
	var out []string
	if list, ok := u.AppMetadata["providers"].([]any); ok {
		for _, p := range list {
			if s, ok := p.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
