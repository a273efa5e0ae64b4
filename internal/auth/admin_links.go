package auth

import (
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/security"
)

// Link types of POST /admin/generate_link.
const (
	linkSignup             = "signup"
	linkInvite             = "invite"
	linkMagicLink          = "magiclink"
	linkRecovery           = "recovery"
	linkEmailChangeCurrent = "email_change_current"
	linkEmailChangeNew     = "email_change_new"
)

// generateLinkParams is the body of POST /admin/generate_link. supabase-js spreads its options
// into the body, so the redirect may come as redirectTo as well as redirect_to (and as the
// redirect_to query parameter).
type generateLinkParams struct {
	Type            string         `json:"type"`
	Email           string         `json:"email"`
	NewEmail        string         `json:"new_email"`
	Password        string         `json:"password"`
	Data            map[string]any `json:"data"`
	RedirectTo      string         `json:"redirect_to"`
	RedirectToCamel string         `json:"redirectTo"`
}

// generatedLink is the answer: the user's fields flattened with the link's.
type generatedLink struct {
	*user
	ActionLink       string `json:"action_link"`
	EmailOTP         string `json:"email_otp"`
	HashedToken      string `json:"hashed_token"`
	VerificationType string `json:"verification_type"`
	RedirectTo       string `json:"redirect_to"`
}

// adminGenerateLink is POST /admin/generate_link (supabase.auth.admin.generateLink): the link
// and code an e-mail of the given type would carry, stored as if sent but not sent, for an
// application that sends its own mail. signup and invite create the user if needed (a
// magiclink for an unknown address becomes a signup link, as in GoTrue); recovery and the
// e-mail change types need an existing user. The link and the code work with /verify like
// mailed ones.
func (s *Service) adminGenerateLink(w http.ResponseWriter, r *http.Request) error {
	p, err := requireAdmin(r)
	if err != nil {
		return err
	}
	var params generateLinkParams
	if err := decodeBody(r, &params); err != nil {
		return err
	}
	switch params.Type {
	case linkSignup, linkInvite, linkMagicLink, linkRecovery, linkEmailChangeCurrent, linkEmailChangeNew:
	default:
		return badRequest(CodeValidationFailed, "Invalid email action link type requested: %v", params.Type)
	}
	email, err := normaliseEmail(params.Email)
	if err != nil {
		return err
	}
	if err := checkMetadata(params.Data); err != nil {
		return err
	}
	redirect := s.redirectTo(r)
	for _, candidate := range []string{params.RedirectToCamel, params.RedirectTo} {
		if candidate != "" && s.allowedRedirect(candidate) == candidate {
			redirect = candidate
		}
	}
	ctx, client := r.Context(), clientOf(r)
	existing, err := findUserByEmail(ctx, s.pool, email)
	if err != nil && !errors.Is(err, errNotFound) {
		return internalError("Database error finding user", err)
	}
	linkType := params.Type
	if existing == nil {
		switch linkType {
		case linkMagicLink:
			linkType = linkSignup
		case linkRecovery, linkEmailChangeCurrent, linkEmailChangeNew:
			return notFound(CodeUserNotFound, "User with this email not found")
		}
	}
	req := linkRequest{linkType: linkType, email: email, data: params.Data}
	if req.hash, err = s.linkPassword(ctx, params); err != nil {
		return err
	}
	if linkType == linkSignup {
		if req.setsPassword, err = s.repeatsPassword(ctx, existing, params.Password); err != nil {
			return err
		}
	}
	if linkType == linkEmailChangeCurrent || linkType == linkEmailChangeNew {
		if req.newEmail, err = normaliseEmail(params.NewEmail); err != nil {
			return err
		}
		if err := checkDuplicateAddress(ctx, s.pool, req.newEmail, "", existing.ID); err != nil {
			return err
		}
	}

	var resp generatedLink
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		oc, err := s.prepareLink(ctx, tx, p, existing, req, client)
		if err != nil {
			return err
		}
		oc.RedirectTo = redirect
		code, err := s.issueCode(ctx, tx, oc)
		if err != nil {
			return err
		}
		now := s.now()
		ev := adminEvent(p, eventAdminLinkGenerated, oc.User.ID, map[string]any{"type": linkType})
		if err := ev.record(ctx, tx, client, now); err != nil {
			return err
		}
		u, err := findUserByID(ctx, tx, oc.User.ID)
		if err != nil {
			return err
		}
		resp = generatedLink{
			user: u, ActionLink: s.verifyURL(code.LinkToken, oc.VerifyType, redirect), EmailOTP: code.OTP,
			HashedToken: code.Link, VerificationType: linkType, RedirectTo: redirect,
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, resp)
}

// linkRequest is a generate_link request once checked.
type linkRequest struct {
	linkType, email, newEmail string
	hash                      string // password hash of a new signup user
	setsPassword              bool   // a signup link standing behind the account's password
	data                      map[string]any
}

// linkPassword checks and hashes the password of a signup link, which GoTrue requires.
func (s *Service) linkPassword(ctx context.Context, params generateLinkParams) (string, error) {
	if params.Type != linkSignup {
		return "", nil
	}
	if params.Password == "" {
		return "", unprocessable(CodeValidationFailed, "Signup requires a valid password")
	}
	if err := s.passwords.policy(params.Password); err != nil {
		return "", err
	}
	return s.passwords.hash(ctx, params.Password)
}

// prepareLink creates or updates the user as the link type needs and describes the code to
// issue.
func (s *Service) prepareLink(ctx context.Context, tx pgx.Tx, p security.Principal, existing *user, req linkRequest, client clientInfo) (outgoingCode, error) {
	now := s.now()
	switch req.linkType {
	case linkSignup, linkInvite:
		if existing != nil && existing.emailConfirmed() {
			return outgoingCode{}, unprocessable(CodeEmailExists, msgEmailExists)
		}
		u, err := s.ensureEmailUser(ctx, tx, existing, req.email, req.hash, req.data, client)
		if err != nil {
			return outgoingCode{}, err
		}
		// An application sending its own sign-up mails signs people up through this link:
		// the password is no more proved than a /signup's.
		if existing == nil && req.hash != "" {
			if err := markUnverifiedPassword(ctx, tx, u.ID, now); err != nil {
				return outgoingCode{}, err
			}
		}
		if existing != nil && req.data != nil {
			if err := mergeUserMetadata(ctx, tx, u.ID, req.data, now); err != nil {
				return outgoingCode{}, internalError("Database error updating user", err)
			}
		}
		oc := outgoingCode{User: u, TokenType: tokenConfirmation, Address: req.email, VerifyType: verifySignup, SentColumn: "confirmation_sent_at"}
		if req.linkType == linkSignup {
			oc.SetsPassword = req.setsPassword
			return oc, recordAudit(ctx, tx, u, auditConfirmationRequested, map[string]any{"provider": providerEmail}, client, now)
		}
		oc.VerifyType = verifyInvite
		if err := updateUserColumns(ctx, tx, u.ID, now, map[string]any{"invited_at": now}); err != nil {
			return outgoingCode{}, internalError("Database error updating user for invite", err)
		}
		return oc, adminAudit(ctx, tx, p, u, auditUserInvited, client, now)
	case linkMagicLink, linkRecovery:
		oc := outgoingCode{User: existing, TokenType: tokenRecovery, Address: req.email, VerifyType: req.linkType, SentColumn: "recovery_sent_at"}
		return oc, recordAudit(ctx, tx, existing, auditRecoveryRequested, nil, client, now)
	}
	err := updateUserColumns(ctx, tx, existing.ID, now, map[string]any{
		"email_change": req.newEmail, "email_change_confirm_status": 0,
	})
	if err != nil {
		return outgoingCode{}, internalError("Database error updating user for email change", err)
	}
	oc := outgoingCode{User: existing, TokenType: tokenEmailChangeOld, Address: req.email, VerifyType: verifyEmailChange,
		SentColumn: "email_change_sent_at", NewEmail: req.newEmail}
	if req.linkType == linkEmailChangeNew {
		oc.TokenType, oc.Address = tokenEmailChangeNew, req.newEmail
	}
	return oc, nil
}
