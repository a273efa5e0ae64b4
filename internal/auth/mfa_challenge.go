package auth

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// challengeParams is the body of POST /factors/{id}/challenge; supabase-js also sends its own
// factorId, which is ignored.
type challengeParams struct {
	Channel string `json:"channel"`
}

// challengeResponse is POST /factors/{id}/challenge's answer.
type challengeResponse struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	ExpiresAt int64  `json:"expires_at"`
}

// challengeFactor is POST /factors/{id}/challenge (supabase.auth.mfa.challenge): a challenge
// to verify within challengeLifetime from the same IP address. For a phone factor the code
// goes out by SMS now and only its hash is kept.
func (s *Service) challengeFactor(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireMFAUser(r)
	if err != nil {
		return err
	}
	f, err := s.loadFactor(r, c)
	if err != nil {
		return err
	}
	var p challengeParams
	if err := decodeOptionalBody(r, &p); err != nil {
		return err
	}
	if f.FactorType == factorPhone {
		if !s.cfg.MFAPhone {
			return unprocessable(CodeMFAPhoneVerifyDisabled, "MFA verification is disabled for Phone")
		}
		if err := checkChannel(p.Channel); err != nil {
			return err
		}
	}
	if err := s.limit(r, s.limits.mfa, "user:"+c.User.ID); err != nil {
		return err
	}
	ctx, client, now := r.Context(), clientOf(r), s.now()
	challengeID := newID()
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var code, codeHash string
		if f.FactorType == factorPhone {
			if err := s.checkFrequency(f.LastChallengedAt, true, now); err != nil {
				return err
			}
			code = randomDigits(s.cfg.OTPLength)
			codeHash = phoneCodeHash(challengeID, code)
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO auth.mfa_challenges (id, factor_id, created_at, ip_address, otp_code)
			VALUES ($1, $2, $3, $4, nullif($5, ''))`, challengeID, f.ID, now, challengeIP(client), codeHash)
		b.Queue(`UPDATE auth.mfa_factors SET last_challenged_at = $2 WHERE id = $1`, f.ID, now)
		queueAudit(b, c.User, auditChallengeCreated, map[string]any{"factor_id": f.ID, "factor_status": f.Status}, client, now)
		if err := runBatch(ctx, tx, b); err != nil {
			return internalError("Database error creating challenge", err)
		}
		if code == "" {
			return nil
		}
		inbox := map[string]any{"type": "mfa", "token": code, "factor_id": f.ID, "challenge_id": challengeID}
		_, err := s.sendSMS(ctx, outgoingCode{User: c.User, Address: f.Phone, SMS: true, VerifyType: "mfa"}, code, inbox)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, challengeResponse{ID: challengeID, Type: f.FactorType, ExpiresAt: now.Add(challengeLifetime).Unix()})
}

// challengeIP is the address a challenge is bound to; auth.mfa_challenges requires one.
func challengeIP(c clientInfo) netip.Addr {
	if c.IP.IsValid() {
		return c.IP.Unmap()
	}
	return netip.IPv4Unspecified()
}

// phoneCodeHash is how an SMS challenge's code is kept: bound to its challenge.
func phoneCodeHash(challengeID, code string) string {
	return sha256Hex(challengeID + ":" + code)
}

// challenge is a row of auth.mfa_challenges.
type challenge struct {
	ID             string
	CreatedAt      time.Time
	VerifiedAt     *time.Time
	IP             netip.Addr
	CodeHash       string
	FailedAttempts int
}

// checkChallenge finds the factor's challenge, locked, and applies GoTrue's rules: unknown
// is 422 mfa_factor_not_found, used or from another address 422 mfa_ip_address_mismatch,
// older than challengeLifetime 422 mfa_challenge_expired (and deleted). The returned
// failure is the answer to give; the transaction should still commit.
func (s *Service) checkChallenge(ctx context.Context, tx pgx.Tx, factorID, challengeID string, client clientInfo, now time.Time) (*challenge, *httpx.AppError, error) {
	ch := challenge{ID: challengeID}
	err := tx.QueryRow(ctx, `SELECT created_at, verified_at, ip_address, coalesce(otp_code, ''), failed_attempts
		FROM auth.mfa_challenges WHERE id = $1 AND factor_id = $2 FOR UPDATE`, challengeID, factorID).
		Scan(&ch.CreatedAt, &ch.VerifiedAt, &ch.IP, &ch.CodeHash, &ch.FailedAttempts)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, unprocessable(CodeMFAFactorNotFound, "MFA factor with the provided challenge ID not found"), nil
	case err != nil:
		return nil, nil, internalError("Database error finding Challenge", err)
	case ch.VerifiedAt != nil || ch.IP.Unmap() != challengeIP(client):
		return nil, unprocessable(CodeMFAIPAddressMismatch, "Challenge and verify IP addresses mismatch."), nil
	case !now.Before(ch.CreatedAt.Add(challengeLifetime)):
		if _, err := tx.Exec(ctx, `DELETE FROM auth.mfa_challenges WHERE id = $1`, challengeID); err != nil {
			return nil, nil, internalError("Database error deleting challenge", err)
		}
		return nil, unprocessable(CodeMFAChallengeExpired,
			"MFA challenge %s has expired, verify against another challenge or create a new challenge.", challengeID), nil
	}
	return &ch, nil, nil
}
