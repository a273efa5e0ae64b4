package auth

import (
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/mailer"
)

// recoverParams is the body of POST /recover.
type recoverParams struct {
	Email string `json:"email"`
	pkceParams
}

// recover is POST /recover (supabase.auth.resetPasswordForEmail): it mails a recovery link
// that signs the user in (type=recovery), after which the app lets them set a new password
// with PUT /user. An unknown address gets the same empty answer, and the same 429 when asked
// again too soon, so the endpoint does not reveal who has an account.
func (s *Service) recover(w http.ResponseWriter, r *http.Request) error {
	var p recoverParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	if p.Email == "" {
		return badRequest(CodeValidationFailed, "Password recovery requires an email")
	}
	email, err := normaliseEmail(p.Email)
	if err != nil {
		return err
	}
	pkce, err := p.pkceParams.parse()
	if err != nil {
		return err
	}
	if err := s.limit(r, s.limits.otp, email); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	redirect := s.redirectTo(r)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		// The send limit comes before the lookup, so that it answers alike for every address.
		if err := s.claimSend(ctx, tx, channelEmail, email); err != nil {
			return err
		}
		u, err := findUserByEmail(ctx, tx, email)
		if errors.Is(err, errNotFound) {
			return nil
		}
		if err != nil {
			return internalError("Database error finding user", err)
		}
		return s.sendRecovery(ctx, tx, u, email, redirect, pkce, client)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{})
}

// sendRecovery records a recovery request for u and mails the link to email, within tx (the
// caller has applied the send limit): POST /recover, and an admin's "send recovery".
func (s *Service) sendRecovery(ctx context.Context, tx pgx.Tx, u *user, email, redirect string, pkce *pkceChallenge, client clientInfo) error {
	now := s.now()
	if err := recordAudit(ctx, tx, u, auditRecoveryRequested, nil, client, now); err != nil {
		return err
	}
	if err := (securityEvent{UserID: u.ID, Type: eventRecoveryRequested}).record(ctx, tx, client, now); err != nil {
		return err
	}
	if pkce != nil {
		if err := createFlowState(ctx, tx, u.ID, methodRecovery, providerEmail, *pkce, now); err != nil {
			return err
		}
	}
	_, err := s.sendCode(ctx, tx, outgoingCode{
		User: u, TokenType: tokenRecovery, Address: email, VerifyType: verifyRecovery,
		MailKind: mailer.KindRecovery, SentColumn: "recovery_sent_at", LastSent: u.RecoverySentAt,
		RedirectTo: redirect, PKCE: pkce != nil,
	})
	return err
}
