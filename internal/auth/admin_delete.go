package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/security"
)

// adminDeleteParams is the (optional) body of DELETE /admin/users/{user_id}.
type adminDeleteParams struct {
	ShouldSoftDelete bool `json:"should_soft_delete"`
}

// adminDeleteUser is DELETE /admin/users/{user_id} (supabase.auth.admin.deleteUser). A hard
// delete removes the row (identities, sessions, factors and codes go with it; an app's
// foreign key without ON DELETE CASCADE makes it fail with 500). should_soft_delete keeps
// the row for the app's references but strips it: e-mail, phone, password and metadata are
// cleared, deleted_at is set, identities, factors, backup codes and sessions are deleted.
// Answers {}.
func (s *Service) adminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	p, err := requireAdmin(r)
	if err != nil {
		return err
	}
	u, err := s.loadUserFromPath(r)
	if err != nil {
		return err
	}
	var params adminDeleteParams
	if err := decodeOptionalBody(r, &params); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		return s.adminDelete(ctx, tx, p, u, params.ShouldSoftDelete, client)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{})
}

// adminDelete deletes u (soft: strips it) within tx, for DELETE /admin/users/{user_id} and
// the admin service. Soft-deleting a user already soft-deleted does nothing.
func (s *Service) adminDelete(ctx context.Context, tx pgx.Tx, p security.Principal, u *user, soft bool, client clientInfo) error {
	now := s.now()
	if soft && u.DeletedAt != nil {
		return nil
	}
	if err := adminAudit(ctx, tx, p, u, auditUserDeleted, client, now); err != nil {
		return err
	}
	ev := adminEvent(p, eventAdminUserDeleted, u.ID, map[string]any{"soft": soft})
	ev.Severity = severityWarning
	if err := ev.record(ctx, tx, client, now); err != nil {
		return err
	}
	if !soft {
		if _, err := tx.Exec(ctx, `DELETE FROM auth.users WHERE id = $1`, u.ID); err != nil {
			return internalError("Database error deleting user", err)
		}
		return nil
	}
	return softDeleteUser(ctx, tx, u.ID, now)
}

func softDeleteUser(ctx context.Context, tx pgx.Tx, userID string, now time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE auth.users SET email = NULL, phone = NULL, encrypted_password = '', email_change = '',
		phone_change = '', raw_user_meta_data = '{}', raw_app_meta_data = '{}', deleted_at = $2, updated_at = $2
		WHERE id = $1`, userID, now)
	for _, table := range []string{"identities", "mfa_factors", "mfa_backup_codes", "sessions", "one_time_tokens", "flow_state"} {
		b.Queue(`DELETE FROM auth.`+table+` WHERE user_id = $1`, userID)
	}
	if err := runBatch(ctx, tx, b); err != nil {
		return internalError("Error soft deleting user", err)
	}
	return nil
}
