package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/mailer"
)

// userForExternal finds, links or creates the user behind an external identity, by
// GoTrue's account-linking rules (models.DetermineAccountLinking):
//
//   - the identity (provider, subject) exists: its user, whose identity_data and
//     user_metadata take the provider's current claims;
//   - else, an account whose e-mail address — or another identity's — is one the provider
//     has verified (any address with autoconfirm on): the identity is linked to it;
//   - else a new user, with the provider's primary address unless another account has it.
//
// A user who had not confirmed an address loses what nobody verified (password, other
// identities); a new or unconfirmed user whose address the provider has not verified gets a
// confirmation mail and no session. failure is an answer to give after committing tx.
func (s *Service) userForExternal(ctx context.Context, tx pgx.Tx, provider string, pu *providerUser, emailOptional bool, redirect string, client clientInfo) (u *user, failure, err error) {
	now := s.now()
	var verified []string
	var candidate providerEmailAddress
	for _, e := range pu.Emails {
		addr := strings.ToLower(e.Email)
		if e.Verified || s.cfg.MailerAutoconfirm {
			verified = append(verified, addr)
		}
		if e.Primary {
			candidate = providerEmailAddress{Email: addr, Verified: e.Verified, Primary: true}
		}
	}

	var userID string
	err = tx.QueryRow(ctx, `UPDATE auth.identities SET identity_data = $3, last_sign_in_at = $4, updated_at = $4
		WHERE provider = $1 AND provider_id = $2 RETURNING user_id`, provider, pu.Subject, pu.Claims, now).Scan(&userID)
	switch {
	case err == nil:
		if err := mergeUserMetadata(ctx, tx, userID, pu.Claims, now); err != nil {
			return nil, nil, internalError("Database error updating user", err)
		}
		if u, err = findUserByID(ctx, tx, userID); err != nil {
			return nil, nil, internalError("Database error finding user", err)
		}
		candidate.Email = u.Email
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, nil, internalError("Database error finding identity", err)
	default:
		linkTo, err := s.linkingCandidate(ctx, tx, verified)
		if err != nil {
			return nil, nil, err
		}
		if linkTo != "" {
			if err := insertIdentity(ctx, tx, linkTo, provider, pu.Subject, pu.Claims, now); err != nil {
				return nil, nil, internalError("Error creating identity", err)
			}
			if err := mergeUserMetadata(ctx, tx, linkTo, pu.Claims, now); err != nil {
				return nil, nil, internalError("Database error updating user", err)
			}
			if u, err = findUserByID(ctx, tx, linkTo); err != nil {
				return nil, nil, internalError("Database error finding user", err)
			}
			if err := recordAudit(ctx, tx, u, "identity_linked", map[string]any{"provider": provider, "provider_id": pu.Subject}, client, now); err != nil {
				return nil, nil, err
			}
		} else {
			if s.cfg.DisableSignup {
				return nil, nil, unprocessable(CodeSignupDisabled, msgSignupDisabled)
			}
			if candidate.Email != "" && len(verified) == 0 {
				// An unverified address someone else holds is left out of the new account.
				if _, err := findUserByEmail(ctx, tx, candidate.Email); err == nil {
					candidate.Email = ""
				} else if !errors.Is(err, errNotFound) {
					return nil, nil, internalError("Database error finding user", err)
				}
			}
			u, err = s.createUser(ctx, tx, newUser{
				Email: candidate.Email, UserMetadata: pu.Claims, Provider: provider,
				IdentityProvider: provider, IdentityID: pu.Subject, IdentityData: pu.Claims,
			}, client)
			if err != nil {
				return nil, nil, err
			}
		}
	}
	if err := syncProviders(ctx, tx, u.ID, now); err != nil {
		return nil, nil, err
	}
	if u.banned(now) {
		return nil, nil, forbidden(CodeUserBanned, "User is banned")
	}
	hasEmail := !(emailOptional && candidate.Email == "")
	if !hasEmail || u.emailConfirmed() || u.phoneConfirmed() {
		return s.reload(ctx, tx, u.ID)
	}
	if err := s.removeUnconfirmedIdentities(ctx, tx, u.ID, provider, pu, now); err != nil {
		return nil, nil, err
	}
	if candidate.Verified || s.cfg.MailerAutoconfirm {
		if u.Email != "" {
			if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"email_confirmed_at": now}); err != nil {
				return nil, nil, internalError("Error updating user", err)
			}
		}
		return s.reload(ctx, tx, u.ID)
	}
	if u, err = findUserByID(ctx, tx, u.ID); err != nil {
		return nil, nil, internalError("Database error finding user", err)
	}
	if u.Email != "" {
		if _, err := s.sendCode(ctx, tx, outgoingCode{
			User: u, TokenType: tokenConfirmation, Address: u.Email, VerifyType: verifySignup,
			MailKind: mailer.KindConfirmation, SentColumn: "confirmation_sent_at", LastSent: u.ConfirmationSentAt,
			RedirectTo: redirect,
		}); err != nil {
			return nil, nil, err
		}
		return nil, unprocessable(CodeProviderEmailNeedsVerification,
			"Unverified email with %v. A confirmation email has been sent to your %v email", provider, provider), nil
	}
	return nil, unprocessable(CodeProviderEmailNeedsVerification,
		"Unverified email with %v. Verify the email with %v in order to sign in", provider, provider), nil
}

func (s *Service) reload(ctx context.Context, tx pgx.Tx, userID string) (*user, error, error) {
	u, err := findUserByID(ctx, tx, userID)
	if err != nil {
		return nil, nil, internalError("Database error finding user", err)
	}
	return u, nil, nil
}

// linkingCandidate is the one account the verified addresses point at ("" for none): the
// owner of identities with those addresses, else the user holding one of them.
func (s *Service) linkingCandidate(ctx context.Context, tx pgx.Tx, verified []string) (string, error) {
	if len(verified) == 0 {
		return "", nil
	}
	var owners []string
	err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT user_id::text), '{}') FROM auth.identities WHERE email = ANY($1)`, verified).Scan(&owners)
	if err != nil {
		return "", internalError("Database error finding identities", err)
	}
	if len(owners) == 0 {
		err = tx.QueryRow(ctx, `SELECT coalesce(array_agg(id::text), '{}') FROM auth.users
			WHERE email = ANY($1) AND is_sso_user = false`, verified).Scan(&owners)
		if err != nil {
			return "", internalError("Database error finding users", err)
		}
	}
	switch len(owners) {
	case 0:
		return "", nil
	case 1:
		return owners[0], nil
	}
	return "", internalError("Multiple accounts with the same email address in the same linking domain detected: default", errors.New("several accounts share a verified address"))
}

// removeUnconfirmedIdentities protects an account nobody has confirmed from pre-account
// takeover, as GoTrue's User.RemoveUnconfirmedIdentities: whoever set its password or other
// identities never proved the address, so they go and the new identity's claims become its
// user_metadata.
func (s *Service) removeUnconfirmedIdentities(ctx context.Context, tx pgx.Tx, userID, provider string, pu *providerUser, now time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE auth.users SET encrypted_password = '', raw_user_meta_data = $2, updated_at = $3 WHERE id = $1`, userID, pu.Claims, now)
	b.Queue(`DELETE FROM auth.unverified_passwords WHERE user_id = $1`, userID)
	b.Queue(`DELETE FROM auth.identities WHERE user_id = $1 AND NOT (provider = $2 AND provider_id = $3)`, userID, provider, pu.Subject)
	if err := runBatch(ctx, tx, b); err != nil {
		return internalError("Error updating user", err)
	}
	return syncProviders(ctx, tx, userID, now)
}

// syncProviders sets app_metadata.providers to the user's identities' providers, oldest
// first, and app_metadata.provider to the first, as GoTrue's UpdateAppMetaDataProviders.
// Identities created in the same instant keep the order the list already had.
func syncProviders(ctx context.Context, tx pgx.Tx, userID string, now time.Time) error {
	_, err := tx.Exec(ctx, `WITH p AS (
			SELECT jsonb_agg(i.provider ORDER BY i.first, coalesce(e.ord, 2147483647)) AS list
			FROM (SELECT provider, min(created_at) AS first FROM auth.identities WHERE user_id = $1 GROUP BY provider) i
			LEFT JOIN auth.users u ON u.id = $1
			LEFT JOIN LATERAL jsonb_array_elements_text(coalesce(u.raw_app_meta_data -> 'providers', '[]'::jsonb))
				WITH ORDINALITY e(name, ord) ON e.name = i.provider)
		UPDATE auth.users SET raw_app_meta_data = coalesce(raw_app_meta_data, '{}') ||
				jsonb_build_object('providers', coalesce(p.list, '[]'::jsonb)) ||
				CASE WHEN p.list IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('provider', p.list -> 0) END,
			updated_at = $2
		FROM p WHERE id = $1`, userID, now)
	if err != nil {
		return internalError("Database error updating user providers", err)
	}
	return nil
}
