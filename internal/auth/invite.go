package auth

import (
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/mailer"
)

// inviteParams is the body of POST /invite.
type inviteParams struct {
	Email string         `json:"email"`
	Data  map[string]any `json:"data"`
}

// invite is POST /invite (supabase.auth.admin.inviteUserByEmail): it creates an unconfirmed
// user (or reuses one who never confirmed), sets invited_at and mails the invite template, a
// link of type invite and a code. Accepting it through /verify confirms the address and
// signs the user in; the application then lets them set a password with PUT /user. An
// address that is already confirmed is 422 email_exists. The answer is the user.
func (s *Service) invite(w http.ResponseWriter, r *http.Request) error {
	p, err := requireAdmin(r)
	if err != nil {
		return err
	}
	var params inviteParams
	if err := decodeBody(r, &params); err != nil {
		return err
	}
	email, err := normaliseEmail(params.Email)
	if err != nil {
		return err
	}
	if err := checkMetadata(params.Data); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	existing, err := findUserByEmail(ctx, s.pool, email)
	if err != nil && !errors.Is(err, errNotFound) {
		return internalError("Database error finding user", err)
	}
	if existing != nil && existing.emailConfirmed() {
		return unprocessable(CodeEmailExists, msgEmailExists)
	}
	redirect := s.redirectTo(r)
	var invited *user
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		u, err := s.ensureEmailUser(ctx, tx, existing, email, "", params.Data, client)
		if err != nil {
			return err
		}
		now := s.now()
		if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"invited_at": now}); err != nil {
			return internalError("Error inviting user", err)
		}
		if err := adminAudit(ctx, tx, p, u, auditUserInvited, client, now); err != nil {
			return err
		}
		if err := adminEvent(p, eventUserInvited, u.ID, nil).record(ctx, tx, client, now); err != nil {
			return err
		}
		// An admin's invitation is not throttled by MaxFrequency, as in GoTrue; the node's
		// e-mail limit still applies.
		if _, err := s.sendCode(ctx, tx, outgoingCode{
			User: u, TokenType: tokenConfirmation, Address: email, VerifyType: verifyInvite,
			MailKind: mailer.KindInvite, SentColumn: "confirmation_sent_at", RedirectTo: redirect,
		}); err != nil {
			return err
		}
		invited, err = findUserByID(ctx, tx, u.ID)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, invited)
}

// ensureEmailUser returns existing, or creates an unconfirmed e-mail user for an admin's
// invitation or link (which sign-ups being disabled does not stop).
func (s *Service) ensureEmailUser(ctx context.Context, tx pgx.Tx, existing *user, email, hash string, data map[string]any, client clientInfo) (*user, error) {
	if existing != nil {
		return existing, nil
	}
	return s.createUser(ctx, tx, newUser{
		Email: email, PasswordHash: hash, UserMetadata: data, Provider: providerEmail, IdentityProvider: providerEmail,
	}, client)
}
