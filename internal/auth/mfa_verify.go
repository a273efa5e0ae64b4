package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// verifyFactorParams is the body of POST /factors/{id}/verify.
type verifyFactorParams struct {
	ChallengeID string `json:"challenge_id"`
	Code        string `json:"code"`
}

// verifyFactor is POST /factors/{id}/verify (supabase.auth.mfa.verify): the code for a
// challenge, answered with a new session at aal2 whose amr includes the factor's method. The
// first success turns the factor verified and drops the user's other unverified factors of
// its type. A TOTP code is accepted once: a code for a time step no later than the last one
// accepted is refused like a wrong code.
func (s *Service) verifyFactor(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireMFAUser(r)
	if err != nil {
		return err
	}
	f, err := s.loadFactor(r, c)
	if err != nil {
		return err
	}
	var p verifyFactorParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	code := strings.Join(strings.Fields(p.Code), "")
	switch {
	case !isUUID(p.ChallengeID):
		return badRequest(CodeValidationFailed, "challenge_id must be an UUID")
	case code == "":
		return badRequest(CodeValidationFailed, "Code needs to be non-empty")
	case len(code) > maxTokenLength:
		return badRequest(CodeValidationFailed, "Code is too long")
	case f.FactorType == factorPhone && !s.cfg.MFAPhone:
		return unprocessable(CodeMFAPhoneVerifyDisabled, "MFA verification is disabled for Phone")
	}
	if err := s.admitSecondFactor(r, c.User); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	now := s.now()
	var (
		resp    *sessionResponse
		failure *httpx.AppError
	)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		ch, refused, err := s.checkChallenge(ctx, tx, f.ID, p.ChallengeID, client, now)
		if err != nil {
			return err
		}
		if refused != nil {
			failure = refused
			return nil
		}
		// Locked, so that two requests with the same code cannot both pass the replay check.
		locked, err := findFactor(ctx, tx, c.User.ID, f.ID, true)
		switch {
		case errors.Is(err, errNotFound):
			return notFound(CodeMFAFactorNotFound, "Factor not found")
		case err != nil:
			return internalError("Database error loading factor", err)
		}
		step, ok, err := s.checkFactorCode(locked, ch, code, now)
		if err != nil {
			return err
		}
		if failure, err = s.mfaHook(ctx, tx, MFAAttempt{UserID: c.User.ID, FactorID: f.ID, FactorType: f.FactorType, Valid: ok}); failure != nil || err != nil {
			return err
		}
		if !ok {
			failure, err = s.refuseMFACode(ctx, tx, c.User, ch.ID, methodFor(f), client, now)
			return err
		}
		resp, err = s.acceptFactor(ctx, tx, c, locked, ch, step, client, now)
		return err
	})
	if err != nil {
		return err
	}
	if failure != nil {
		return failure
	}
	return writeJSON(w, resp)
}

// methodFor is the amr method a factor verifies with.
func methodFor(f *factorRow) string {
	if f.FactorType == factorPhone {
		return methodMFAPhone
	}
	return methodTOTP
}

// checkFactorCode compares code with what the challenge expects: the TOTP of a step around
// now that is later than the last one used, or the SMS code sent for the challenge. It
// returns the TOTP step matched.
func (s *Service) checkFactorCode(f *factorRow, ch *challenge, code string, now time.Time) (int64, bool, error) {
	if f.FactorType == factorPhone {
		ok := ch.CodeHash != "" && subtle.ConstantTimeCompare([]byte(phoneCodeHash(ch.ID, code)), []byte(ch.CodeHash)) == 1
		return 0, ok, nil
	}
	secret, err := s.secrets.open(f.Secret, f.ID)
	if err != nil {
		return 0, false, internalError("Database error verifying MFA TOTP secret", err)
	}
	step, ok, err := totpStep(secret, code, now)
	if err != nil {
		return 0, false, internalError("Database error verifying MFA TOTP secret", err)
	}
	if ok && f.LastTOTPStep != nil && step <= *f.LastTOTPStep {
		return 0, false, nil
	}
	return step, ok, nil
}

// refuseMFACode records a wrong code and returns the answer: 422 mfa_verification_failed,
// or 429 user_locked when this failure started a lock.
func (s *Service) refuseMFACode(ctx context.Context, tx pgx.Tx, u *user, challengeID, method string, client clientInfo, now time.Time) (*httpx.AppError, error) {
	lockedUntil, err := s.wrongMFACode(ctx, tx, u, challengeID, method, client, now)
	switch {
	case err != nil:
		return nil, internalError("Database error recording a wrong code", err)
	case lockedUntil != nil:
		return mfaLockedError(*lockedUntil, now), nil
	}
	msg := "Invalid TOTP code entered"
	switch method {
	case methodMFAPhone:
		msg = "Invalid MFA Phone code entered"
	case methodBackupCode:
		msg = "Invalid backup code entered"
	}
	return unprocessable(CodeMFAVerificationFailed, "%s", msg), nil
}

// acceptFactor completes a successful verification: the challenge is marked used, the
// factor verified (recording the TOTP step), the session raised to aal2.
func (s *Service) acceptFactor(ctx context.Context, tx pgx.Tx, c *caller, f *factorRow, ch *challenge, step int64, client clientInfo, now time.Time) (*sessionResponse, error) {
	first := !f.verified()
	var lastStep *int64
	if f.FactorType == factorTOTP {
		lastStep = &step
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE auth.mfa_challenges SET verified_at = $2 WHERE id = $1`, ch.ID, now)
	b.Queue(`UPDATE auth.mfa_factors SET status = 'verified', updated_at = $2, last_totp_step = coalesce($3, last_totp_step)
		WHERE id = $1`, f.ID, now, lastStep)
	if first {
		b.Queue(`DELETE FROM auth.mfa_factors WHERE user_id = $1 AND factor_type = $2 AND status = 'unverified' AND id <> $3`,
			c.User.ID, f.FactorType, f.ID)
	}
	details := map[string]any{"factor_id": f.ID, "challenge_id": ch.ID, "factor_type": f.FactorType}
	queueAudit(b, c.User, auditVerificationAttempted, details, client, now)
	securityEvent{UserID: c.User.ID, Type: eventMFAVerified, Details: map[string]any{
		"factor_id": f.ID, "factor_type": f.FactorType, "method": methodFor(f), "session_id": c.Session.ID, "first": first,
	}}.queue(b, client, now)
	if err := runBatch(ctx, tx, b); err != nil {
		return nil, internalError("Database error verifying factor", err)
	}
	resp, err := s.upgradeSession(ctx, tx, c, methodFor(f), f.ID, now)
	if err != nil {
		return nil, internalError("Database error granting user", err)
	}
	return resp, nil
}
