package auth

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/mailer"
)

// identityRoutes are GoTrue's manual linking endpoints.
func (s *Service) identityRoutes() map[string]httpx.HandlerFunc {
	return map[string]httpx.HandlerFunc{
		"GET /user/identities/authorize":        s.linkIdentityStart,
		"DELETE /user/identities/{identity_id}": s.unlinkIdentity,
	}
}

// requireManualLinking authenticates the caller, then refuses while manual linking is off,
// in GoTrue's order (requireAuthentication, then requireManualLinkingEnabled).
func (s *Service) requireManualLinking(r *http.Request) (*caller, error) {
	c, err := s.requireUser(r)
	if err != nil {
		return nil, err
	}
	if !s.cfg.ManualLinking {
		return nil, notFound(CodeManualLinkingDisabled, "Manual linking is disabled")
	}
	return c, nil
}

// linkIdentityStart is GET /user/identities/authorize?provider=… (supabase-js linkIdentity):
// an OAuth flow whose identity is added to the caller.
func (s *Service) linkIdentityStart(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireManualLinking(r)
	if err != nil {
		return err
	}
	target, err := s.providerRedirect(r, c.User)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("skip_http_redirect") == "true" {
		return writeJSON(w, map[string]string{"url": target})
	}
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// linkIdentity adds the provider's identity to the user targetID (GoTrue's
// linkIdentityToUser). An identity already linked anywhere is refused; a user without an
// e-mail address takes the identity's, confirmed only when the provider verified it.
func (s *Service) linkIdentity(ctx context.Context, tx pgx.Tx, targetID, provider string, pu *providerUser, redirect string, client clientInfo) (*user, error, error) {
	now := s.now()
	var owner string
	err := tx.QueryRow(ctx, `SELECT user_id::text FROM auth.identities WHERE provider = $1 AND provider_id = $2`, provider, pu.Subject).Scan(&owner)
	switch {
	case err == nil && owner == targetID:
		return nil, nil, unprocessable(CodeIdentityAlreadyExists, "Identity is already linked")
	case err == nil:
		return nil, nil, unprocessable(CodeIdentityAlreadyExists, "Identity is already linked to another user")
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, nil, internalError("Database error finding identity for linking", err)
	}
	u, err := findUserByID(ctx, tx, targetID)
	if errors.Is(err, errNotFound) {
		return nil, nil, unprocessable(CodeUserNotFound, "Linking target user not found")
	} else if err != nil {
		return nil, nil, internalError("Database error loading user", err)
	}
	if err := insertIdentity(ctx, tx, u.ID, provider, pu.Subject, pu.Claims, now); err != nil {
		return nil, nil, internalError("Error creating identity", err)
	}
	if err := recordAudit(ctx, tx, u, "identity_linked", map[string]any{"provider": provider, "provider_id": pu.Subject}, client, now); err != nil {
		return nil, nil, err
	}
	email, _ := pu.Claims["email"].(string)
	email = strings.ToLower(email)
	verified, _ := pu.Claims["email_verified"].(bool)
	if u.Email == "" && email != "" {
		err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"email": email})
		if isUniqueViolation(err, "users_email_partial_key") {
			return nil, nil, badRequest(CodeEmailExists, msgEmailExists)
		} else if err != nil {
			return nil, nil, internalError("Database error updating user", err)
		}
		if !verified && !s.cfg.MailerAutoconfirm {
			if u, err = findUserByID(ctx, tx, u.ID); err != nil {
				return nil, nil, internalError("Database error loading user", err)
			}
			if _, err := s.sendCode(ctx, tx, outgoingCode{
				User: u, TokenType: tokenConfirmation, Address: email, VerifyType: verifySignup,
				MailKind: mailer.KindConfirmation, SentColumn: "confirmation_sent_at", LastSent: u.ConfirmationSentAt,
				RedirectTo: redirect,
			}); err != nil {
				return nil, nil, err
			}
			if err := syncProviders(ctx, tx, u.ID, now); err != nil {
				return nil, nil, err
			}
			return nil, unprocessable(CodeEmailNotConfirmed, "Unverified email with %v. A confirmation email has been sent to your %v email", provider, provider), nil
		}
		if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"email_confirmed_at": now, "is_anonymous": false}); err != nil {
			return nil, nil, internalError("Database error updating user", err)
		}
	}
	if err := syncProviders(ctx, tx, u.ID, now); err != nil {
		return nil, nil, err
	}
	return s.reload(ctx, tx, u.ID)
}

// unlinkIdentity is DELETE /user/identities/{identity_id} (supabase-js unlinkIdentity).
func (s *Service) unlinkIdentity(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireManualLinking(r)
	if err != nil {
		return err
	}
	id := r.PathValue("identity_id")
	if !isUUID(id) {
		return notFound(CodeValidationFailed, "identity_id must be an UUID")
	}
	u := c.User
	if len(u.Identities) <= 1 {
		return unprocessable(CodeSingleIdentityNotDeletable, "User must have at least 1 identity after unlinking")
	}
	var gone *identity
	for i := range u.Identities {
		if u.Identities[i].IdentityID == id {
			gone = &u.Identities[i]
		}
	}
	if gone == nil {
		return unprocessable(CodeIdentityNotFound, "Identity doesn't exist")
	}
	ctx, client := r.Context(), clientOf(r)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		if err := recordAudit(ctx, tx, u, "identity_unlinked", map[string]any{"identity_id": gone.IdentityID, "provider": gone.Provider, "provider_id": gone.ID}, client, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM auth.identities WHERE id = $1`, gone.IdentityID); err != nil {
			return internalError("Database error deleting identity", err)
		}
		if gone.Provider == providerPhone {
			if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"phone": nil, "phone_confirmed_at": nil}); err != nil {
				return internalError("Database error updating user phone", err)
			}
		} else if err := s.emailFromIdentities(ctx, tx, u, gone.IdentityID, now); err != nil {
			return err
		}
		return syncProviders(ctx, tx, u.ID, now)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{})
}

// emailFromIdentities keeps the user's address when a remaining identity has it, else
// promotes the best remaining identity's (verified first, then unverified, then none), as
// GoTrue's UpdateUserEmailFromIdentities.
func (s *Service) emailFromIdentities(ctx context.Context, tx pgx.Tx, u *user, goneID string, now time.Time) error {
	var rest []identity
	for _, i := range u.Identities {
		if i.IdentityID == goneID {
			continue
		}
		if i.Email == u.Email {
			return nil
		}
		rest = append(rest, i)
	}
	rank := func(i identity) int {
		switch {
		case i.Email == "":
			return 2
		case i.IdentityData["email_verified"] != true:
			return 1
		}
		return 0
	}
	var best *identity
	for _, r := range []int{0, 1, 2} {
		for i := range rest {
			if rank(rest[i]) != r {
				continue
			}
			if rest[i].Email != "" {
				if _, err := findUserByEmail(ctx, tx, rest[i].Email); err == nil {
					continue
				} else if !errors.Is(err, errNotFound) {
					return internalError("Database error finding user", err)
				}
			}
			best = &rest[i]
			break
		}
		if best != nil {
			break
		}
	}
	if best == nil {
		return unprocessable(CodeEmailConflictIdentityDelete, "Unable to unlink identity due to email conflict")
	}
	cols := map[string]any{"email": nullIfEmpty(best.Email)}
	if best.Email == "" || (rank(*best) != 0 && !s.cfg.MailerAutoconfirm) {
		cols["email_confirmed_at"] = nil
	}
	if err := updateUserColumns(ctx, tx, u.ID, now, cols); err != nil {
		return internalError("Database error updating user email", err)
	}
	if _, ok := cols["email_confirmed_at"]; ok {
		if err := mergeUserMetadata(ctx, tx, u.ID, map[string]any{"email_verified": false}, now); err != nil {
			return internalError("Database error updating user email", err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM auth.one_time_tokens WHERE user_id = $1`, u.ID); err != nil {
		return internalError("Database error updating user email", err)
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// oauthRoutes are social sign-in's routes, manual linking's, and GoTrue's answers for the
// features Go Forward does not serve (oauth_disabled.go).
func (s *Service) oauthRoutes() map[string]httpx.HandlerFunc {
	routes := map[string]httpx.HandlerFunc{
		"GET /authorize": s.authorize,
		"GET /callback":  s.callback,
		"POST /callback": s.callback,
	}
	maps.Copy(routes, s.identityRoutes())
	maps.Copy(routes, disabledRoutes())
	routes["GET /user/oauth/grants"] = s.userOAuthGrantsDisabled
	routes["DELETE /user/oauth/grants"] = s.userOAuthGrantsDisabled
	return routes
}
