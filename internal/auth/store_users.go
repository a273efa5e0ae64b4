package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// findUser returns the one user matching where (a condition on u, such as "u.email = $1").
func findUser(ctx context.Context, q querier, where string, args ...any) (*user, error) {
	u, err := scanUser(q.QueryRow(ctx, "SELECT "+userColumns+" FROM auth.users u WHERE "+where, args...))
	if err != nil {
		return nil, storeError("find user", err)
	}
	return u, nil
}

func findUserByID(ctx context.Context, q querier, id string) (*user, error) {
	return findUser(ctx, q, "u.id = $1", id)
}

func findUserByEmail(ctx context.Context, q querier, email string) (*user, error) {
	return findUser(ctx, q, "u.email = $1 AND u.is_sso_user = false AND u.aud = $2", email, audience)
}

func findUserByPhone(ctx context.Context, q querier, phone string) (*user, error) {
	return findUser(ctx, q, "u.phone = $1 AND u.aud = $2", phone, audience)
}

// newUser describes a user to insert.
type newUser struct {
	ID                string // "" for a new random id; the admin API may choose one
	Email, Phone      string
	PasswordHash      string
	UserMetadata      map[string]any
	Provider          string // first entry of app_metadata.providers; "" for anonymous users
	EmailConfirmed    bool
	PhoneConfirmed    bool
	Anonymous         bool
	IdentityProvider  string // provider of the identity created with the user; "" for none
	IdentityID        string // the provider's id for the user; "" means the user's own id
	IdentityData      map[string]any
	IdentityConfirmed bool // e-mail/phone verified, as recorded in identity_data
}

// insertUser creates the user with a plain INSERT, so that apps' triggers on auth.users fire,
// and its identity; it returns the user as stored (triggers may have changed it).
func insertUser(ctx context.Context, q querier, nu newUser, now time.Time) (*user, error) {
	id := nu.ID
	if id == "" {
		id = newID()
	}
	appMeta := map[string]any{}
	if nu.Provider != "" {
		appMeta["provider"] = nu.Provider
		appMeta["providers"] = []string{nu.Provider}
	}
	userMeta := nu.UserMetadata
	if userMeta == nil {
		userMeta = map[string]any{}
	}
	var emailConfirmedAt, phoneConfirmedAt *time.Time
	if nu.EmailConfirmed {
		emailConfirmedAt = &now
	}
	if nu.PhoneConfirmed {
		phoneConfirmedAt = &now
	}
	_, err := q.Exec(ctx, `INSERT INTO auth.users (id, aud, role, email, phone, encrypted_password,
			email_confirmed_at, phone_confirmed_at, raw_app_meta_data, raw_user_meta_data,
			is_anonymous, is_super_admin, created_at, updated_at)
		VALUES ($1, $2, $3, nullif($4, ''), nullif($5, ''), $6, $7, $8, $9, $10, $11, false, $12, $12)`,
		id, audience, roleAuthenticated, nu.Email, nu.Phone, nu.PasswordHash, emailConfirmedAt,
		phoneConfirmedAt, appMeta, userMeta, nu.Anonymous, now)
	if err != nil {
		return nil, fmt.Errorf("insert user: %w", err)
	}
	if nu.IdentityProvider != "" {
		providerID := nu.IdentityID
		if providerID == "" {
			providerID = id
		}
		if err := insertIdentity(ctx, q, id, nu.IdentityProvider, providerID, nu.IdentityData, now); err != nil {
			return nil, err
		}
	}
	return findUserByID(ctx, q, id)
}

// builtinIdentityData is what GoTrue records for an email or phone identity; insertIdentity
// adds sub, the user's id.
func builtinIdentityData(email, phone string, emailVerified, phoneVerified bool) map[string]any {
	data := map[string]any{
		"email_verified": emailVerified,
		"phone_verified": phoneVerified,
	}
	if email != "" {
		data["email"] = email
	}
	if phone != "" {
		data["phone"] = phone
	}
	return data
}

func insertIdentity(ctx context.Context, q querier, userID, provider, providerID string, data map[string]any, now time.Time) error {
	if data == nil {
		data = map[string]any{}
	}
	if _, ok := data["sub"]; !ok {
		data["sub"] = providerID
	}
	_, err := q.Exec(ctx, `INSERT INTO auth.identities (id, user_id, provider, provider_id, identity_data,
			last_sign_in_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $6)`, newID(), userID, provider, providerID, data, now)
	if err != nil {
		return fmt.Errorf("insert identity: %w", err)
	}
	return nil
}

// setIdentityData merges patch into the identity_data of the user's identity of provider.
func setIdentityData(ctx context.Context, q querier, userID, provider string, patch map[string]any, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE auth.identities SET identity_data = identity_data || $3, updated_at = $4
		WHERE user_id = $1 AND provider = $2`, userID, provider, patch, now)
	if err != nil {
		return fmt.Errorf("update identity: %w", err)
	}
	return nil
}

// updateUserColumns sets the given columns (name → value) and updated_at. Column names are
// constants of this package, never input.
func updateUserColumns(ctx context.Context, q querier, userID string, now time.Time, columns map[string]any) error {
	sql := "UPDATE auth.users SET updated_at = $2"
	args := []any{userID, now}
	for _, name := range slices.Sorted(maps.Keys(columns)) {
		args = append(args, columns[name])
		sql += fmt.Sprintf(", %s = $%d", name, len(args))
	}
	if _, err := q.Exec(ctx, sql+" WHERE id = $1", args...); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// addProvider adds provider to app_metadata.providers if it is not there yet.
func addProvider(ctx context.Context, q querier, u *user, provider string, now time.Time) error {
	providers := u.providers()
	for _, p := range providers {
		if p == provider {
			return nil
		}
	}
	meta := map[string]any{"providers": append(providers, provider)}
	if _, ok := u.AppMetadata["provider"]; !ok {
		meta["provider"] = provider
	}
	_, err := q.Exec(ctx, `UPDATE auth.users SET raw_app_meta_data = coalesce(raw_app_meta_data, '{}') || $2,
		updated_at = $3 WHERE id = $1`, u.ID, meta, now)
	if err != nil {
		return fmt.Errorf("update providers: %w", err)
	}
	return nil
}

// mergeUserMetadata applies data to raw_user_meta_data as GoTrue does: top-level keys are
// replaced and a null value removes its key.
func mergeUserMetadata(ctx context.Context, q querier, userID string, data map[string]any, now time.Time) error {
	return mergeMetadata(ctx, q, userID, "raw_user_meta_data", data, now)
}

// mergeMetadata applies data to the metadata column (raw_user_meta_data or
// raw_app_meta_data, constants of this package): top-level keys are replaced and a null
// value removes its key.
func mergeMetadata(ctx context.Context, q querier, userID, column string, data map[string]any, now time.Time) error {
	set, remove := map[string]any{}, []string{}
	for k, v := range data {
		if v == nil {
			remove = append(remove, k)
		} else {
			set[k] = v
		}
	}
	encoded, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("encode %s: %w", column, err)
	}
	_, err = q.Exec(ctx, `UPDATE auth.users
		SET `+column+` = (coalesce(`+column+`, '{}') || $2::jsonb) - $3::text[], updated_at = $4
		WHERE id = $1`, userID, encoded, remove, now)
	if err != nil {
		return fmt.Errorf("update %s: %w", column, err)
	}
	return nil
}
