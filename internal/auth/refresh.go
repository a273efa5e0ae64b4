package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// refreshGrantParams is the body of POST /token?grant_type=refresh_token.
type refreshGrantParams struct {
	RefreshToken string `json:"refresh_token"`
}

// refreshGrant rotates a refresh token: the token is revoked and a child issued in the same
// session. A token already revoked is still honoured, as in GoTrue, in two cases: when it is
// the parent of the session's active (newest unrevoked) token — the client lost the previous
// answer, or several tabs refreshed at once — the answer carries that active token again and
// nothing new is minted; otherwise, when it was revoked less than RefreshTokenReuseInterval
// ago, it gets a new child. Any other reuse is treated as theft: the whole session is deleted,
// so every token of it, and every access token naming it, stops working.
func (s *Service) refreshGrant(w http.ResponseWriter, r *http.Request) error {
	var p refreshGrantParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	if p.RefreshToken == "" {
		return badRequest(CodeValidationFailed, "refresh_token required")
	}
	notFoundErr := badRequest(CodeRefreshTokenNotFound, "Invalid Refresh Token: Refresh Token Not Found")
	if len(p.RefreshToken) > maxTokenLength {
		return notFoundErr
	}
	if err := s.limit(r, s.limits.token); err != nil {
		return err
	}
	ctx, client, now := r.Context(), clientOf(r), s.now()
	hash := sha256Hex(p.RefreshToken)
	var (
		resp    *sessionResponse
		failure error
	)
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Locking the token and its session serialises refreshes within a session, and makes
		// the revoked flag read here the latest committed one.
		var (
			revoked           bool
			revokedAt         time.Time
			sessionID, userID string
			aal               string
			notAfter          pgtype.Timestamptz
		)
		err := tx.QueryRow(ctx, `SELECT rt.revoked, rt.updated_at, s.id, s.user_id, coalesce(s.aal::text, 'aal1'), s.not_after
			FROM auth.refresh_tokens rt JOIN auth.sessions s ON s.id = rt.session_id
			WHERE rt.token = $1 FOR UPDATE OF rt, s`, hash).Scan(&revoked, &revokedAt, &sessionID, &userID, &aal, &notAfter)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			failure = notFoundErr
			return nil
		case err != nil:
			return internalError("Database error finding refresh token", err)
		case notAfter.Valid && now.After(notAfter.Time):
			failure = badRequest(CodeSessionExpired, "Invalid Refresh Token: Session Expired")
			return nil
		}

		var (
			activeHash, activeParent, activeSealed string
			amrRaw                                 []byte
		)
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+`, coalesce(a.token, ''), coalesce(a.parent, ''),
				coalesce(a.sealed_by_parent, ''), `+amrColumn+`
			FROM auth.users u JOIN auth.sessions s ON s.user_id = u.id
			LEFT JOIN LATERAL (SELECT token, parent, sealed_by_parent FROM auth.refresh_tokens
				WHERE session_id = s.id AND NOT revoked ORDER BY id DESC LIMIT 1) a ON true
			WHERE s.id = $1`, sessionID),
			&activeHash, &activeParent, &activeSealed, &amrRaw)
		if err != nil {
			return internalError("Database error loading user", err)
		}
		if u.banned(now) {
			failure = badRequest(CodeUserBanned, "User is banned")
			return nil
		}

		issued := ""
		if revoked && activeParent == hash && activeSealed != "" {
			// Tokens written before the sealed column existed cannot be returned; they fall
			// under the reuse interval like any other revoked token.
			if active, err := openChild(p.RefreshToken, activeSealed, sessionID, activeHash); err == nil {
				issued = active
			}
		}
		if issued == "" && revoked && !now.Before(revokedAt.Add(max(0, s.cfg.RefreshTokenReuseInterval))) {
			failure = badRequest(CodeRefreshTokenAlreadyUsed, "Invalid Refresh Token: Already Used")
			return s.revokeReusedSession(ctx, tx, u, sessionID, client, now)
		}

		b := &pgx.Batch{}
		if issued == "" {
			issued = rand.Text()
			if !revoked {
				b.Queue(`UPDATE auth.refresh_tokens SET revoked = true, updated_at = $2 WHERE token = $1`, hash, now)
			}
			b.Queue(`INSERT INTO auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, parent, session_id, sealed_by_parent)
				VALUES ($1, $2, false, $3, $3, $4, $5, $6)`,
				sha256Hex(issued), userID, now, hash, sessionID, sealChild(p.RefreshToken, issued, sessionID))
		}
		b.Queue(`UPDATE auth.sessions SET refreshed_at = $2, updated_at = $3, user_agent = $4, ip = $5 WHERE id = $1`,
			sessionID, now, now, client.UserAgent, client.ipArg())
		if err := runBatch(ctx, tx, b); err != nil {
			return internalError("Database error rotating refresh token", err)
		}
		amr, err := decodeAMR(amrRaw)
		if err != nil {
			return internalError("Database error reading session", err)
		}
		resp, err = s.respond(ctx, u, sessionID, aal, amr, issued, now)
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

// revokeReusedSession ends a session whose revoked refresh token came back outside the
// grace rules, and records it.
func (s *Service) revokeReusedSession(ctx context.Context, tx pgx.Tx, u *user, sessionID string, c clientInfo, now time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM auth.sessions WHERE id = $1`, sessionID); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.logger.WarnContext(ctx, "revoked refresh token reused; session revoked", "user_id", u.ID, "session_id", sessionID)
	ev := securityEvent{UserID: u.ID, Type: eventTokenReused, Severity: severityWarning, Details: map[string]any{"session_id": sessionID}}
	if err := ev.record(ctx, tx, c, now); err != nil {
		return err
	}
	return recordAudit(ctx, tx, u, auditTokenRevoked, map[string]any{"session_id": sessionID, "reason": "refresh_token_reused"}, c, now)
}
