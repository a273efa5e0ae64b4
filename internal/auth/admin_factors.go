package auth

import (
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"
)

// adminListFactors is GET /admin/users/{user_id}/factors (supabase.auth.admin.mfa.
// listFactors): the user's factors as a bare array.
func (s *Service) adminListFactors(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireAdmin(r); err != nil {
		return err
	}
	u, err := s.loadUserFromPath(r)
	if err != nil {
		return err
	}
	factors, err := listFactors(r.Context(), s.pool, u.ID)
	if err != nil {
		return internalError("Database error loading factors", err)
	}
	return writeJSON(w, publicFactors(factors))
}

// adminDeleteFactor is DELETE /admin/users/{user_id}/factors/{factor_id} (supabase.auth.
// admin.mfa.deleteFactor), for a user who lost the device: the factor goes whatever the
// caller's assurance level, sessions it raised fall back to aal1, and the answer is the
// deleted factor.
func (s *Service) adminDeleteFactor(w http.ResponseWriter, r *http.Request) error {
	p, err := requireAdmin(r)
	if err != nil {
		return err
	}
	u, err := s.loadUserFromPath(r)
	if err != nil {
		return err
	}
	factorID := r.PathValue("factor_id")
	if !isUUID(factorID) {
		return notFound(CodeValidationFailed, "factor_id must be an UUID")
	}
	ctx, client := r.Context(), clientOf(r)
	var deleted *factorRow
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		f, err := findFactor(ctx, tx, u.ID, factorID, true)
		switch {
		case errors.Is(err, errNotFound):
			return notFound(CodeMFAFactorNotFound, "Factor not found")
		case err != nil:
			return internalError("Database error loading factor", err)
		}
		codesDropped, err := removeFactor(ctx, tx, f, now)
		if err != nil {
			return internalError("Database error deleting factor", err)
		}
		traits := map[string]any{"user_id": u.ID, "factor_id": f.ID}
		if err := recordAudit(ctx, tx, adminActor(p), auditFactorDeleted, traits, client, now); err != nil {
			return err
		}
		ev := adminEvent(p, eventAdminFactorDeleted, u.ID, map[string]any{"factor_id": f.ID, "factor_type": f.FactorType})
		ev.Severity = severityWarning
		if err := ev.record(ctx, tx, client, now); err != nil {
			return err
		}
		deleted = f
		return s.recordBackupCodesDropped(ctx, tx, u, codesDropped, client, now)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, deleted.factor)
}
