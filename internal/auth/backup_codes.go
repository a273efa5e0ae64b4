package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// Backup codes (Go Forward, from the original design): single-use second factors for the day
// the authenticator is lost. A user with an aal2 session generates a set, shown once; each
// code then raises one aal1 session to aal2 (amr method mfa/backup_code). Only hashes are
// stored: SHA-256 of the user id and the code, which is enough because a code carries about
// 79 bits of entropy (bcrypt's cost buys nothing against a search of 2^79, and a plain hash
// finds the code with one indexed lookup instead of ten bcrypt comparisons).
const (
	backupCodeCount    = 10
	backupCodeLength   = 16
	backupCodeGroup    = 4
	backupCodeAlphabet = "abcdefghjkmnpqrstuvwxyz23456789" // no 0/o, 1/l/i
)

// newBackupCode returns a random code written in groups of four: "7kq2-m9xd-…".
func newBackupCode() string {
	var b strings.Builder
	limit := big.NewInt(int64(len(backupCodeAlphabet)))
	for i := range backupCodeLength {
		if i > 0 && i%backupCodeGroup == 0 {
			b.WriteByte('-')
		}
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			panic("auth: crypto/rand failed: " + err.Error())
		}
		b.WriteByte(backupCodeAlphabet[n.Int64()])
	}
	return b.String()
}

// backupCodeHash is what is stored for a code: dashes, spaces and case do not matter.
func backupCodeHash(userID, code string) string {
	normalised := strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(code, "-", "")), ""))
	return sha256Hex(userID + ":" + normalised)
}

// backupCodesStatus is GET /factors/backup_codes: how many codes the user has and how many
// are unused, never the codes.
func (s *Service) backupCodesStatus(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireMFAUser(r)
	if err != nil {
		return err
	}
	var (
		total, remaining int
		created          *time.Time
	)
	err = s.pool.QueryRow(r.Context(), `SELECT count(*), count(*) FILTER (WHERE used_at IS NULL), min(created_at)
		FROM auth.mfa_backup_codes WHERE user_id = $1`, c.User.ID).Scan(&total, &remaining, &created)
	if err != nil {
		return internalError("Database error reading backup codes", err)
	}
	if created != nil {
		utc := created.UTC()
		created = &utc
	}
	return writeJSON(w, map[string]any{"total": total, "remaining": remaining, "created_at": created})
}

// requireAAL2 insists on a session raised by a second factor.
func requireAAL2(c *caller, action string) error {
	if c.Session.AAL != aal2 {
		return forbidden(CodeInsufficientAAL, "AAL2 required to %s", action)
	}
	return nil
}

// generateBackupCodes is POST /factors/backup_codes: a new set of backup codes, replacing
// the previous one, answered once as {"codes":[…],"total":10,"created_at":…}.
func (s *Service) generateBackupCodes(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireMFAUser(r)
	if err != nil {
		return err
	}
	if err := requireAAL2(c, "generate backup codes"); err != nil {
		return err
	}
	ctx, client, now := r.Context(), clientOf(r), s.now()
	codes := make([]string, backupCodeCount)
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM auth.mfa_backup_codes WHERE user_id = $1`, c.User.ID)
	for i := range codes {
		codes[i] = newBackupCode()
		b.Queue(`INSERT INTO auth.mfa_backup_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)`,
			newID(), c.User.ID, backupCodeHash(c.User.ID, codes[i]), now)
	}
	queueAudit(b, c.User, auditBackupCodesGenerated, map[string]any{"count": backupCodeCount}, client, now)
	securityEvent{UserID: c.User.ID, Type: eventBackupCodesGenerated, Details: map[string]any{
		"count": backupCodeCount, "session_id": c.Session.ID,
	}}.queue(b, client, now)
	if err := runBatch(ctx, s.pool, b); err != nil {
		return internalError("Database error creating backup codes", err)
	}
	return writeJSON(w, map[string]any{"codes": codes, "total": backupCodeCount, "created_at": now})
}

// deleteBackupCodes is DELETE /factors/backup_codes: the user's codes are void.
func (s *Service) deleteBackupCodes(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireMFAUser(r)
	if err != nil {
		return err
	}
	if err := requireAAL2(c, "delete backup codes"); err != nil {
		return err
	}
	ctx, client, now := r.Context(), clientOf(r), s.now()
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM auth.mfa_backup_codes WHERE user_id = $1`, c.User.ID)
		if err != nil {
			return internalError("Database error deleting backup codes", err)
		}
		return s.recordBackupCodesDropped(ctx, tx, c.User, tag.RowsAffected() > 0, client, now)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{})
}

// recordBackupCodesDropped writes the audit entry and security event of a deleted set of
// backup codes, if one was deleted.
func (s *Service) recordBackupCodesDropped(ctx context.Context, tx pgx.Tx, u *user, dropped bool, client clientInfo, now time.Time) error {
	if !dropped {
		return nil
	}
	if err := recordAudit(ctx, tx, u, auditBackupCodesDeleted, nil, client, now); err != nil {
		return err
	}
	return securityEvent{UserID: u.ID, Type: eventBackupCodesDeleted}.record(ctx, tx, client, now)
}

// backupCodeParams is the body of POST /factors/backup_codes/verify.
type backupCodeParams struct {
	Code string `json:"code"`
}

// backupCodeSession is the answer to a backup code: the aal2 session, and how many codes are
// left so that the application can urge a new set.
type backupCodeSession struct {
	*sessionResponse
	BackupCodesRemaining int `json:"backup_codes_remaining"`
}

// verifyBackupCode is POST /factors/backup_codes/verify: an unused backup code raises the
// caller's session to aal2 and is used up. Wrong codes count towards the MFA lock like wrong
// TOTP codes.
func (s *Service) verifyBackupCode(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireMFAUser(r)
	if err != nil {
		return err
	}
	var p backupCodeParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(p.Code) == "":
		return badRequest(CodeValidationFailed, "Code needs to be non-empty")
	case len(p.Code) > maxTokenLength:
		return badRequest(CodeValidationFailed, "Code is too long")
	}
	if err := s.admitSecondFactor(r, c.User); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	now := s.now()
	var (
		resp    backupCodeSession
		failure *httpx.AppError
	)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `UPDATE auth.mfa_backup_codes SET used_at = $3
			WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id`,
			c.User.ID, backupCodeHash(c.User.ID, p.Code), now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			failure, err = s.refuseMFACode(ctx, tx, c.User, "", methodBackupCode, client, now)
			return err
		}
		if err != nil {
			return internalError("Database error checking the backup code", err)
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM auth.mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL`,
			c.User.ID).Scan(&resp.BackupCodesRemaining); err != nil {
			return internalError("Database error checking the backup code", err)
		}
		b := &pgx.Batch{}
		queueAudit(b, c.User, auditBackupCodeLogin, map[string]any{"method": methodBackupCode}, client, now)
		securityEvent{UserID: c.User.ID, Type: eventBackupCodeUsed, Severity: severityWarning, Details: map[string]any{
			"remaining": resp.BackupCodesRemaining, "session_id": c.Session.ID,
		}}.queue(b, client, now)
		if err := runBatch(ctx, tx, b); err != nil {
			return internalError("Database error recording the backup code", err)
		}
		resp.sessionResponse, err = s.upgradeSession(ctx, tx, c, methodBackupCode, "", now)
		if err != nil {
			return internalError("Database error granting user", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if failure != nil {
		return failure
	}
	return writeJSON(w, resp)
}
