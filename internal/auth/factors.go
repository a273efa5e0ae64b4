package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Factor types and statuses, as auth.factor_type and auth.factor_status spell them.
const (
	factorTOTP     = "totp"
	factorPhone    = "phone"
	factorWebAuthn = "webauthn"
	factorVerified = "verified"
)

// MFA authentication methods recorded in auth.mfa_amr_claims, GoTrue's names;
// methodBackupCode is Go Forward's.
const (
	methodTOTP       = "totp"
	methodMFAPhone   = "mfa/phone"
	methodBackupCode = "mfa/backup_code"
)

// factorRow is a row of auth.mfa_factors: its public part and what verification needs.
type factorRow struct {
	factor
	UserID       string
	Secret       string // the TOTP secret as stored (sealed by secretBox)
	LastTOTPStep *int64
}

func (f *factorRow) verified() bool { return f.Status == factorVerified }

// factorColumns selects a factorRow; scanFactor reads it.
const factorColumns = `f.id, coalesce(f.friendly_name, ''), f.factor_type::text, f.status::text, f.created_at,
	f.updated_at, f.last_challenged_at, coalesce(f.phone, ''), f.user_id, coalesce(f.secret, ''), f.last_totp_step`

func scanFactor(row pgx.Row) (*factorRow, error) {
	var f factorRow
	err := row.Scan(&f.ID, &f.FriendlyName, &f.FactorType, &f.Status, &f.CreatedAt, &f.UpdatedAt,
		&f.LastChallengedAt, &f.Phone, &f.UserID, &f.Secret, &f.LastTOTPStep)
	if err != nil {
		return nil, err
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	if f.LastChallengedAt != nil {
		utc := f.LastChallengedAt.UTC()
		f.LastChallengedAt = &utc
	}
	return &f, nil
}

// findFactor returns the user's factor factorID, locked for the rest of the transaction when
// forUpdate is set; errNotFound when the user has no such factor.
func findFactor(ctx context.Context, q querier, userID, factorID string, forUpdate bool) (*factorRow, error) {
	sql := `SELECT ` + factorColumns + ` FROM auth.mfa_factors f WHERE f.id = $1 AND f.user_id = $2`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	f, err := scanFactor(q.QueryRow(ctx, sql, factorID, userID))
	if err != nil {
		return nil, storeError("find factor", err)
	}
	return f, nil
}

// listFactors returns the user's factors, oldest first.
func listFactors(ctx context.Context, q querier, userID string) ([]*factorRow, error) {
	rows, err := q.Query(ctx, `SELECT `+factorColumns+` FROM auth.mfa_factors f WHERE f.user_id = $1
		ORDER BY f.created_at, f.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list factors: %w", err)
	}
	factors, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*factorRow, error) { return scanFactor(row) })
	if err != nil {
		return nil, fmt.Errorf("list factors: %w", err)
	}
	return factors, nil
}

// publicFactors is the JSON of factors: GoTrue's Factor objects, never secrets.
func publicFactors(rows []*factorRow) []factor {
	out := make([]factor, 0, len(rows))
	for _, f := range rows {
		out = append(out, f.factor)
	}
	return out
}

// removeFactor deletes a factor (its challenges go with it) and takes back what it gave:
// sessions it raised to aal2 drop to aal1 and lose its amr entry, as GoTrue does. When it
// was the user's last verified factor, every session of the user drops to aal1 (aal2 means
// nothing without a second factor) and the backup codes go, since they stand in for a factor
// the user no longer has. It reports whether backup codes were deleted.
func removeFactor(ctx context.Context, tx pgx.Tx, f *factorRow, now time.Time) (bool, error) {
	method := methodTOTP
	if f.FactorType == factorPhone {
		method = methodMFAPhone
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM auth.mfa_amr_claims WHERE authentication_method = $2
		AND session_id IN (SELECT id FROM auth.sessions WHERE factor_id = $1)`, f.ID, method)
	b.Queue(`UPDATE auth.sessions SET aal = 'aal1', factor_id = NULL, updated_at = $2 WHERE factor_id = $1`, f.ID, now)
	b.Queue(`DELETE FROM auth.mfa_factors WHERE id = $1`, f.ID)
	if err := runBatch(ctx, tx, b); err != nil {
		return false, fmt.Errorf("remove factor: %w", err)
	}
	var anyLeft bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth.mfa_factors WHERE user_id = $1 AND status = 'verified')`,
		f.UserID).Scan(&anyLeft); err != nil {
		return false, fmt.Errorf("remove factor: %w", err)
	}
	if anyLeft {
		return false, nil
	}
	b = &pgx.Batch{}
	b.Queue(`DELETE FROM auth.mfa_amr_claims WHERE authentication_method = ANY($2)
		AND session_id IN (SELECT id FROM auth.sessions WHERE user_id = $1)`, f.UserID, []string{methodTOTP, methodMFAPhone, methodBackupCode})
	b.Queue(`UPDATE auth.sessions SET aal = 'aal1', factor_id = NULL, updated_at = $2 WHERE user_id = $1 AND aal <> 'aal1'`, f.UserID, now)
	if err := runBatch(ctx, tx, b); err != nil {
		return false, fmt.Errorf("downgrade sessions: %w", err)
	}
	tag, err := tx.Exec(ctx, `DELETE FROM auth.mfa_backup_codes WHERE user_id = $1`, f.UserID)
	if err != nil {
		return false, fmt.Errorf("remove backup codes: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}
