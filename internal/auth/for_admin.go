package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// What the admin service (/admin/v1, internal/admin) borrows from auth to sign admins in:
// the password grant's checks (rate limits, lockout, bcrypt, ban, confirmation) and the
// second factor's (the MFA rate limit and lock, TOTP replay protection, single-use backup
// codes). An admin is a user, so an admin sign-in is held to exactly what /auth/v1/token
// holds the same user to. internal/admin may not import this package: it declares the
// interface these methods satisfy, and internal/cli hands it the service.

// CheckPassword reads the request body and runs POST /token?grant_type=password on it up to
// the point where a session would start: the same validation, rate limits (the same
// buckets), lockout, bcrypt comparison, ban and confirmation checks, and so the same
// failures. It returns the account's id and the body it read, for the caller's own fields.
// On a refusal userID still names the account the address belongs to, if any, for the
// caller's audit log; render the error with RenderError to answer as /token would.
//
// A correct password clears the failure counts and makes the client's address known to the
// account (lockout.go), as a password sign-in does; it starts no auth session and writes no
// sign-in event, which is the caller's to record.
func (s *Service) CheckPassword(r *http.Request) (userID string, body json.RawMessage, err error) {
	body, err = readBody(r)
	if err != nil {
		return "", nil, err
	}
	checked, err := s.checkPassword(r, body)
	if checked.user != nil {
		userID = checked.user.ID
	}
	if err != nil {
		return userID, body, err
	}
	if address := clientAddress(clientOf(r).IP); address != "" {
		if _, err := s.pool.Exec(r.Context(), `INSERT INTO auth.sign_in_addresses AS a (user_id, address, last_sign_in_at)
			VALUES ($1, $2, $3) ON CONFLICT (user_id, address) DO UPDATE SET last_sign_in_at = $3`,
			userID, address, s.now()); err != nil {
			return userID, body, internalError("Database error granting user", err)
		}
	}
	return userID, body, nil
}

// SecondFactors lists the user's verified factors as GoTrue's factor objects ({id,
// friendly_name, factor_type, status, created_at, updated_at}), oldest first, and how many
// unused backup codes the user has.
func (s *Service) SecondFactors(ctx context.Context, userID string) (json.RawMessage, int, error) {
	rows, err := listFactors(ctx, s.pool, userID)
	if err != nil {
		return nil, 0, err
	}
	verified := rows[:0]
	for _, f := range rows {
		if f.verified() {
			verified = append(verified, f)
		}
	}
	factors, err := json.Marshal(publicFactors(verified))
	if err != nil {
		return nil, 0, fmt.Errorf("encode factors: %w", err)
	}
	var codes int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM auth.mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL`,
		userID).Scan(&codes); err != nil {
		return nil, 0, fmt.Errorf("count backup codes: %w", err)
	}
	return factors, codes, nil
}

// VerifyTOTP checks a code of the user's verified TOTP factor as POST /factors/{id}/verify
// does: the user is not banned, the per-user MFA rate limit has room, no MFA lock runs, and
// the code is one of a step later than the last accepted (a code is good once). A wrong code
// counts towards the MFA lock (422 mfa_verification_failed, or 429 user_locked once the lock
// starts). The caller's own challenge stands in for GoTrue's: it is bound to the client's
// address and short-lived.
func (s *Service) VerifyTOTP(r *http.Request, userID, factorID, code string) error {
	code = strings.Join(strings.Fields(code), "")
	if err := checkCodeParam(code); err != nil {
		return err
	}
	if !isUUID(factorID) {
		return notFound(CodeValidationFailed, "factor_id must be an UUID")
	}
	u, err := s.secondFactorUser(r, userID)
	if err != nil {
		return err
	}
	ctx, client, now := r.Context(), clientOf(r), s.now()
	var failure *httpx.AppError
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Locked, so that two requests with the same code cannot both pass the replay check.
		f, err := findFactor(ctx, tx, userID, factorID, true)
		switch {
		case errors.Is(err, errNotFound) || err == nil && (!f.verified() || f.FactorType != factorTOTP):
			return notFound(CodeMFAFactorNotFound, "Factor not found")
		case err != nil:
			return internalError("Database error loading factor", err)
		}
		step, ok, err := s.checkFactorCode(f, nil, code, now)
		if err != nil {
			return err
		}
		if !ok {
			failure, err = s.refuseMFACode(ctx, tx, u, "", methodTOTP, client, now)
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE auth.mfa_factors SET last_totp_step = $2, updated_at = $3 WHERE id = $1`,
			f.ID, step, now); err != nil {
			return internalError("Database error verifying factor", err)
		}
		return clearFailures(ctx, tx, mfaLockSubject(userID))
	})
	if err != nil {
		return err
	}
	if failure != nil {
		return failure
	}
	return nil
}

// VerifyBackupCode uses up one of the user's unused backup codes as POST
// /factors/backup_codes/verify does, under the same guards as VerifyTOTP; a wrong code counts
// towards the MFA lock the same way, and a used one writes the backup_code_used event.
func (s *Service) VerifyBackupCode(r *http.Request, userID, code string) error {
	if err := checkCodeParam(strings.TrimSpace(code)); err != nil {
		return err
	}
	u, err := s.secondFactorUser(r, userID)
	if err != nil {
		return err
	}
	ctx, client, now := r.Context(), clientOf(r), s.now()
	var failure *httpx.AppError
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var remaining int
		err := tx.QueryRow(ctx, `WITH used AS (
				UPDATE auth.mfa_backup_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id)
			SELECT (SELECT count(*) FROM auth.mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL) - (SELECT count(*) FROM used)
			FROM used`, userID, backupCodeHash(userID, code), now).Scan(&remaining)
		if errors.Is(err, pgx.ErrNoRows) {
			failure, err = s.refuseMFACode(ctx, tx, u, "", methodBackupCode, client, now)
			return err
		}
		if err != nil {
			return internalError("Database error checking the backup code", err)
		}
		ev := securityEvent{UserID: userID, Type: eventBackupCodeUsed, Severity: severityWarning, Details: map[string]any{
			"remaining": remaining, "purpose": "admin_sign_in",
		}}
		if err := ev.record(ctx, tx, client, now); err != nil {
			return internalError("Database error recording the backup code", err)
		}
		return clearFailures(ctx, tx, mfaLockSubject(userID))
	})
	if err != nil {
		return err
	}
	if failure != nil {
		return failure
	}
	return nil
}

// RenderError writes err exactly as the auth service writes its own errors (GoTrue's two
// envelopes, x-sb-error-code), so that a failed admin sign-in reads like a failed /token.
func (s *Service) RenderError(w http.ResponseWriter, r *http.Request, err *httpx.AppError) {
	renderError(w, r, err)
}

// checkCodeParam applies the MFA endpoints' checks of a code's shape.
func checkCodeParam(code string) error {
	switch {
	case code == "":
		return badRequest(CodeValidationFailed, "Code needs to be non-empty")
	case len(code) > maxTokenLength:
		return badRequest(CodeValidationFailed, "Code is too long")
	}
	return nil
}

// secondFactorUser loads the user a second factor is checked for and admits the attempt
// (admitSecondFactor: not banned, MFA rate limit, MFA lock).
func (s *Service) secondFactorUser(r *http.Request, userID string) (*user, error) {
	u, err := findUserByID(r.Context(), s.pool, userID)
	switch {
	case errors.Is(err, errNotFound):
		return nil, notFound(CodeUserNotFound, "User not found")
	case err != nil:
		return nil, internalError("Database error loading user", err)
	}
	if err := s.admitSecondFactor(r, u); err != nil {
		return nil, err
	}
	return u, nil
}
