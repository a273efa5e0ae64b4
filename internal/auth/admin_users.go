package auth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/goforward/goforward/internal/security"
)

// maxRoleLength is the width of auth.users.role.
const maxRoleLength = 255

// adminUserParams is the body of POST /admin/users and PUT /admin/users/{id}. aud is
// accepted and ignored: every user has the audience "authenticated".
type adminUserParams struct {
	ID           string         `json:"id"`
	Role         string         `json:"role"`
	Email        string         `json:"email"`
	Phone        string         `json:"phone"`
	Password     *string        `json:"password"`
	PasswordHash string         `json:"password_hash"`
	EmailConfirm bool           `json:"email_confirm"`
	PhoneConfirm bool           `json:"phone_confirm"`
	UserMetadata map[string]any `json:"user_metadata"`
	AppMetadata  map[string]any `json:"app_metadata"`
	BanDuration  string         `json:"ban_duration"`
}

// adminUserChange is an adminUserParams checked and normalised.
type adminUserChange struct {
	adminUserParams
	email, phone string         // normalised; "" when not given
	ban          *time.Duration // nil: leave the ban as it is
	hash         string         // the new password hash; "" for none
}

// checkAdminUser validates p before anything is written and hashes a new password.
// checkPolicy applies the password policy, as GoTrue does on update but not on create.
func (s *Service) checkAdminUser(ctx context.Context, p adminUserParams, checkPolicy bool) (adminUserChange, error) {
	ch := adminUserChange{adminUserParams: p}
	var err error
	if p.Email != "" {
		if ch.email, err = normaliseEmail(p.Email); err != nil {
			return ch, err
		}
	}
	if p.Phone != "" {
		if ch.phone, err = normalisePhone(p.Phone); err != nil {
			return ch, err
		}
	}
	if ch.ban, err = parseBanDuration(p.BanDuration); err != nil {
		return ch, err
	}
	if len(p.Role) > maxRoleLength || (p.Role != "" && strings.TrimSpace(p.Role) == "") {
		return ch, badRequest(CodeValidationFailed, "role must be a name of at most %d characters", maxRoleLength)
	}
	if err := checkMetadata(p.UserMetadata); err != nil {
		return ch, err
	}
	if err := checkMetadata(p.AppMetadata); err != nil {
		return ch, err
	}
	switch {
	case p.Password != nil && *p.Password != "" && p.PasswordHash != "":
		return ch, badRequest(CodeValidationFailed, "Only a password or a password hash should be provided")
	case p.PasswordHash != "":
		if _, err := bcrypt.Cost([]byte(p.PasswordHash)); err != nil {
			return ch, badRequest(CodeValidationFailed, "Invalid password hash format: only bcrypt hashes are supported")
		}
		ch.hash = p.PasswordHash
	case p.Password != nil && *p.Password != "":
		if len(*p.Password) > maxPasswordBytes {
			return ch, badRequest(CodeValidationFailed, "Password cannot be longer than %d characters", maxPasswordBytes)
		}
		if checkPolicy {
			if err := s.passwords.policy(*p.Password); err != nil {
				return ch, err
			}
		}
		if ch.hash, err = s.passwords.hash(ctx, *p.Password); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// adminCreateUser is POST /admin/users (supabase.auth.admin.createUser): a user with e-mail
// and/or phone, confirmed only when email_confirm / phone_confirm say so, and no mail sent.
// Without a password the user signs in by one-time code or after a recovery.
func (s *Service) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	p, err := requireAdmin(r)
	if err != nil {
		return err
	}
	var params adminUserParams
	if err := decodeBody(r, &params); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	ch, err := s.checkAdminUser(ctx, params, false)
	if err != nil {
		return err
	}
	var created *user
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		created, err = s.adminCreate(ctx, tx, p, ch, client)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, created)
}

// adminCreate creates the user ch describes within tx, for POST /admin/users and the admin
// service, and returns it as stored.
func (s *Service) adminCreate(ctx context.Context, tx pgx.Tx, p security.Principal, ch adminUserChange, client clientInfo) (*user, error) {
	if ch.email == "" && ch.phone == "" {
		return nil, badRequest(CodeValidationFailed, "Cannot create a user without either an email or phone")
	}
	if ch.ID != "" {
		if !isUUID(ch.ID) {
			return nil, badRequest(CodeValidationFailed, "ID must conform to the uuid v4 format")
		}
		if ch.ID == nilUUID {
			return nil, badRequest(CodeValidationFailed, "ID cannot be a nil uuid")
		}
		ch.ID = strings.ToLower(ch.ID)
		switch _, err := findUserByID(ctx, tx, ch.ID); {
		case err == nil:
			return nil, unprocessable(CodeUserAlreadyExists, "A user with this ID already exists")
		case !errors.Is(err, errNotFound):
			return nil, internalError("Database error checking id", err)
		}
	}
	if err := checkDuplicateAddress(ctx, tx, ch.email, ch.phone, ""); err != nil {
		return nil, err
	}
	now := s.now()
	nu := newUser{
		ID: ch.ID, Email: ch.email, Phone: ch.phone, PasswordHash: ch.hash, UserMetadata: ch.UserMetadata,
		EmailConfirmed: ch.email != "" && ch.EmailConfirm, PhoneConfirmed: ch.phone != "" && ch.PhoneConfirm,
	}
	nu.Provider, nu.IdentityProvider = providerEmail, providerEmail
	if ch.email == "" {
		nu.Provider, nu.IdentityProvider = providerPhone, providerPhone
	}
	u, err := s.createUser(ctx, tx, nu, client)
	if err != nil {
		return nil, err
	}
	if ch.email != "" && ch.phone != "" {
		data := builtinIdentityData("", ch.phone, false, nu.PhoneConfirmed)
		if err := insertIdentity(ctx, tx, u.ID, providerPhone, u.ID, data, now); err != nil {
			return nil, internalError("Database error creating identity", err)
		}
		if err := addProvider(ctx, tx, u, providerPhone, now); err != nil {
			return nil, internalError("Database error updating user", err)
		}
	}
	if err := s.applyAdminAttributes(ctx, tx, p, u, ch, client, now); err != nil {
		return nil, err
	}
	ev := adminEvent(p, eventAdminUserCreated, u.ID, map[string]any{"email_confirm": ch.EmailConfirm, "phone_confirm": ch.PhoneConfirm})
	if err := ev.record(ctx, tx, client, now); err != nil {
		return nil, err
	}
	return findUserByID(ctx, tx, u.ID)
}

// applyAdminAttributes sets what create and update share: role, app_metadata (merged: a
// null removes its key) and the ban.
func (s *Service) applyAdminAttributes(ctx context.Context, tx pgx.Tx, p security.Principal, u *user, ch adminUserChange, client clientInfo, now time.Time) error {
	if ch.Role != "" {
		if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"role": strings.TrimSpace(ch.Role)}); err != nil {
			return internalError("Database error updating user", err)
		}
	}
	if ch.AppMetadata != nil {
		if err := mergeMetadata(ctx, tx, u.ID, "raw_app_meta_data", ch.AppMetadata, now); err != nil {
			return internalError("Database error updating user", err)
		}
	}
	if ch.ban != nil {
		return s.setBan(ctx, tx, p, u, *ch.ban, client, now)
	}
	return nil
}

// adminUpdateUser is PUT /admin/users/{user_id} (supabase.auth.admin.updateUserById): e-mail
// and phone change at once (no confirmation mail), email_confirm / phone_confirm confirm
// them, a new password (which must meet the policy) ends every session of the user,
// user_metadata and app_metadata are merged, ban_duration bans or ("none") lifts a ban.
func (s *Service) adminUpdateUser(w http.ResponseWriter, r *http.Request) error {
	p, err := requireAdmin(r)
	if err != nil {
		return err
	}
	u, err := s.loadUserFromPath(r)
	if err != nil {
		return err
	}
	var params adminUserParams
	if err := decodeBody(r, &params); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	ch, err := s.checkAdminUser(ctx, params, true)
	if err != nil {
		return err
	}
	var updated *user
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		updated, err = s.adminUpdate(ctx, tx, p, u, ch, client)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, updated)
}

// adminUpdate applies ch to u within tx, for PUT /admin/users/{user_id} and the admin
// service, and returns the user as stored.
func (s *Service) adminUpdate(ctx context.Context, tx pgx.Tx, p security.Principal, u *user, ch adminUserChange, client clientInfo) (*user, error) {
	if err := checkDuplicateAddress(ctx, tx, ch.email, ch.phone, u.ID); err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.applyAdminAddresses(ctx, tx, u, ch, now); err != nil {
		return nil, err
	}
	if ch.hash != "" {
		if err := s.adminSetPassword(ctx, tx, p, u, ch.hash, client, now); err != nil {
			return nil, err
		}
	}
	if ch.UserMetadata != nil {
		if err := mergeUserMetadata(ctx, tx, u.ID, ch.UserMetadata, now); err != nil {
			return nil, internalError("Database error updating user", err)
		}
	}
	if err := s.applyAdminAttributes(ctx, tx, p, u, ch, client, now); err != nil {
		return nil, err
	}
	if err := adminAudit(ctx, tx, p, u, auditUserModified, client, now); err != nil {
		return nil, err
	}
	if err := adminEvent(p, eventAdminUserUpdated, u.ID, map[string]any{"fields": changedFields(ch)}).record(ctx, tx, client, now); err != nil {
		return nil, err
	}
	return findUserByID(ctx, tx, u.ID)
}

// applyAdminAddresses confirms and replaces the user's e-mail address and phone number.
func (s *Service) applyAdminAddresses(ctx context.Context, tx pgx.Tx, u *user, ch adminUserChange, now time.Time) error {
	// column is also the identity provider's name and the identity_data key.
	type address struct {
		value, column, confirmedColumn string
		confirm, wasConfirmed          bool
	}
	for _, a := range []address{
		{ch.email, providerEmail, "email_confirmed_at", ch.EmailConfirm, u.emailConfirmed()},
		{ch.phone, providerPhone, "phone_confirmed_at", ch.PhoneConfirm, u.phoneConfirmed()},
	} {
		columns := map[string]any{}
		if a.confirm && !a.wasConfirmed {
			columns[a.confirmedColumn] = now
		}
		if a.value != "" {
			columns[a.column] = a.value
		}
		if (a.value != "" || a.confirm) && u.IsAnonymous {
			columns["is_anonymous"] = false
		}
		if len(columns) == 0 {
			continue
		}
		err := updateUserColumns(ctx, tx, u.ID, now, columns)
		switch {
		case isUniqueViolation(err, "users_email_partial_key"):
			return unprocessable(CodeEmailExists, msgEmailExists).WithCause(err)
		case isUniqueViolation(err, "users_phone_key"):
			return unprocessable(CodePhoneExists, "Phone number already registered by another user").WithCause(err)
		case err != nil:
			return internalError("Database error updating user", err)
		}
		patch := map[string]any{a.column + "_verified": a.confirm || a.wasConfirmed}
		if a.value != "" {
			patch[a.column] = a.value
		}
		if a.value == "" && !hasIdentity(u, a.column) {
			continue // confirming an address the user does not have
		}
		if err := s.ensureBuiltinIdentity(ctx, tx, u, a.column, patch, now); err != nil {
			return err
		}
	}
	return nil
}

func hasIdentity(u *user, provider string) bool {
	for _, id := range u.Identities {
		if id.Provider == provider {
			return true
		}
	}
	return false
}

// adminSetPassword stores a new password hash and, as GoTrue does when an admin sets a
// password, ends every session of the user.
func (s *Service) adminSetPassword(ctx context.Context, tx pgx.Tx, p security.Principal, u *user, hash string, client clientInfo, now time.Time) error {
	if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"encrypted_password": hash}); err != nil {
		return internalError("Database error updating user", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM auth.sessions WHERE user_id = $1`, u.ID); err != nil {
		return internalError("Database error updating user", err)
	}
	ev := securityEvent{UserID: u.ID, Type: eventPasswordChanged, Details: map[string]any{"by": "admin"}, Actor: adminAuditActor(p)}
	return ev.record(ctx, tx, client, now)
}

// changedFields names what an update asked to change, for its security event.
func changedFields(ch adminUserChange) []string {
	var out []string
	for name, set := range map[string]bool{
		"email": ch.email != "", "phone": ch.phone != "", "password": ch.hash != "", "role": ch.Role != "",
		"email_confirm": ch.EmailConfirm, "phone_confirm": ch.PhoneConfirm, "user_metadata": ch.UserMetadata != nil,
		"app_metadata": ch.AppMetadata != nil, "ban_duration": ch.ban != nil,
	} {
		if set {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
