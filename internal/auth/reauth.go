package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/mailer"
)

// reauthenticate is GET /reauthenticate: it sends the signed-in user a nonce (by e-mail, or
// by SMS for a user without an address) that PUT /user accepts as proof of presence for a
// password change.
func (s *Service) reauthenticate(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireUser(r)
	if err != nil {
		return err
	}
	u := c.User
	if u.Email == "" && u.Phone == "" {
		return unprocessable(CodeValidationFailed, "Reauthentication requires the user to have an email or a phone number")
	}
	code := outgoingCode{
		User: u, TokenType: tokenReauthentication, Address: u.Email, VerifyType: "reauthentication",
		MailKind: mailer.KindReauthentication, SentColumn: "reauthentication_sent_at", LastSent: u.ReauthenticationSentAt,
	}
	if u.Email == "" {
		code.Address, code.SMS = u.Phone, true
	}
	if err := s.limit(r, s.limits.otp, code.Address); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	var messageID string
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := recordAudit(ctx, tx, u, auditReauthenticate, nil, client, s.now()); err != nil {
			return err
		}
		var err error
		messageID, err = s.sendCode(ctx, tx, code)
		return err
	})
	if err != nil {
		return err
	}
	if messageID != "" {
		return writeJSON(w, map[string]any{"message_id": messageID})
	}
	return writeJSON(w, map[string]any{})
}

// errBadNonce is what useNonce returns for a nonce that matches nothing pending: the caller
// counts it with recordBadNonce once its transaction has rolled back, and answers
// badNonce.
var errBadNonce = errors.New("auth: reauthentication nonce is invalid or expired")

func badNonce() error {
	return unprocessable(CodeReauthenticationNotValid, "Requested nonce is invalid or expired")
}

// useNonce uses up the user's reauthentication nonce, or fails with errBadNonce.
func (s *Service) useNonce(ctx context.Context, tx pgx.Tx, u *user, nonce string, now time.Time) error {
	address, expiry := u.Email, s.cfg.EmailOTPExpiry
	if address == "" {
		address, expiry = u.Phone, s.cfg.SMSOTPExpiry
	}
	if len(nonce) > maxTokenLength {
		return errBadNonce
	}
	var id string
	err := tx.QueryRow(ctx, `DELETE FROM auth.one_time_tokens
		WHERE user_id = $1 AND token_type = 'reauthentication_token' AND token_hash = $2 AND created_at > $3
			AND failed_attempts < $4
		RETURNING id`, u.ID, sha224Hex(address+strings.ReplaceAll(nonce, "-", "")), now.Add(-expiry), s.cfg.OTPMaxAttempts).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return errBadNonce
	}
	if err != nil {
		return internalError("Database error checking the nonce", err)
	}
	return nil
}
