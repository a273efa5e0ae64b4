package auth

import (
	"net/http"

	"github.com/jackc/pgx/v5"
)

// enrollPhone creates a phone factor (with Config.MFAPhone): challenges text a code to the
// number through the service's SMS sender. As in GoTrue, a number may carry one verified
// factor; an unverified one for the same number is replaced.
func (s *Service) enrollPhone(w http.ResponseWriter, r *http.Request, c *caller, p enrollParams) error {
	if p.Phone == "" {
		return badRequest(CodeValidationFailed, "Phone number required to enroll Phone factor")
	}
	phone, err := normalisePhone(p.Phone)
	if err != nil {
		return badRequest(CodeValidationFailed, "Invalid phone number format (E.164 required)")
	}
	f := factorRow{factor: factor{ID: newID(), FriendlyName: p.FriendlyName, FactorType: factorPhone, Phone: phone}}
	ctx, client := r.Context(), clientOf(r)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var verified bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth.mfa_factors
			WHERE user_id = $1 AND factor_type = 'phone' AND phone = $2 AND status = 'verified')`, c.User.ID, phone).Scan(&verified)
		if err != nil {
			return internalError("Database error loading factors", err)
		}
		if verified {
			return unprocessable(CodeMFAVerifiedFactorExists, "A verified phone factor already exists, unenroll the existing factor to continue")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM auth.mfa_factors WHERE user_id = $1 AND factor_type = 'phone' AND phone = $2`,
			c.User.ID, phone); err != nil {
			return internalError("Database error deleting unverified phone factors", err)
		}
		return s.insertFactor(ctx, tx, c, f, "", client)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, enrollResponse{ID: f.ID, Type: factorPhone, FriendlyName: f.FriendlyName, Phone: p.Phone})
}
