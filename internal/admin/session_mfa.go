package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
)

// A sign-in that needs a second factor ends, after the password, in a challenge: a random
// token (only its SHA-256 is stored in goforward.admin_sign_in_challenges) that POST
// /sessions/mfa presents with a code. It lives challengeLifetime, answers only the address
// it was issued to, and is void after maxChallengeFailures wrong codes; each wrong code also
// counts towards the user's MFA lock in auth.
const (
	challengePrefix      = "gfc_"
	challengeLifetime    = 5 * time.Minute // GoTrue's MFA challenge lifetime
	maxChallengeFailures = 5
	// backupCodeFactor is the factor_id that names a backup code rather than a TOTP factor.
	backupCodeFactor = "backup_code"
)

// signInFactor is a way to finish a sign-in, as the challenge lists it.
type signInFactor struct {
	ID           string `json:"id"`
	Type         string `json:"type"` // totp or backup_code
	FriendlyName string `json:"friendly_name,omitempty"`
}

// signInFactors lists what can finish the user's sign-in (verified TOTP factors, then backup
// codes when some are left) and whether the user has any verified factor at all.
func (s *Service) signInFactors(ctx context.Context, userID string) ([]signInFactor, bool, error) {
	raw, codes, err := s.signIn.SecondFactors(ctx, userID)
	if err != nil {
		return nil, false, err
	}
	var verified []struct {
		ID           string `json:"id"`
		Type         string `json:"factor_type"`
		FriendlyName string `json:"friendly_name"`
	}
	if err := json.Unmarshal(raw, &verified); err != nil {
		return nil, false, fmt.Errorf("admin: read factors: %w", err)
	}
	var out []signInFactor
	for _, f := range verified {
		if f.Type == "totp" {
			out = append(out, signInFactor{ID: f.ID, Type: f.Type, FriendlyName: f.FriendlyName})
		}
	}
	if codes > 0 {
		out = append(out, signInFactor{ID: backupCodeFactor, Type: backupCodeFactor, FriendlyName: "Backup code"})
	}
	return out, len(verified) > 0, nil
}

// challengeResponse asks for the second factor.
type challengeResponse struct {
	MFARequired    bool           `json:"mfa_required"`
	ChallengeToken string         `json:"challenge_token"`
	ExpiresAt      time.Time      `json:"expires_at"`
	Factors        []signInFactor `json:"factors"`
}

// challenge stores a new challenge for a (dropping expired ones) and answers it.
func (s *Service) challenge(w http.ResponseWriter, r *http.Request, a signInAdmin, factors []signInFactor) error {
	token, hash, err := access.NewToken(challengePrefix)
	if err != nil {
		return internalError(err)
	}
	ctx, client := r.Context(), audit.ClientOf(r)
	now := s.now().UTC().Truncate(time.Microsecond)
	expires := now.Add(challengeLifetime)
	id := uuid.NewString()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM goforward.admin_sign_in_challenges WHERE expires_at <= $1`, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO goforward.admin_sign_in_challenges
  (id, token_hash, user_id, ip, user_agent, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, hash, a.UserID, ipArg(client.IP), truncate(client.UserAgent, maxUserAgent), now, expires); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{
			Actor:  audit.Actor{Type: audit.ActorAdmin, ID: a.UserID, Email: a.Email},
			Action: actionSignInChallenge, ResourceType: "user", ResourceID: a.UserID, Client: client,
			Details: map[string]any{"level": string(a.Level), "required_by_environment": s.mfaRequired(a.Level)},
		})
	})
	if err != nil {
		return internalError(err)
	}
	return writeJSON(w, http.StatusOK, challengeResponse{MFARequired: true, ChallengeToken: token, ExpiresAt: expires, Factors: factors})
}

// mfaParams is the body of POST /sessions/mfa.
type mfaParams struct {
	ChallengeToken string          `json:"challenge_token"`
	FactorID       string          `json:"factor_id"`
	Code           string          `json:"code"`
	Cookie         json.RawMessage `json:"cookie"`
}

// signInMFA serves POST /sessions/mfa: {challenge_token, factor_id, code} finishes a sign-in
// with a TOTP code (factor_id: the factor's id) or a backup code (factor_id "backup_code"),
// checked by auth, and opens the session.
func (s *Service) signInMFA(w http.ResponseWriter, r *http.Request) error {
	if s.signIn == nil {
		return signInUnavailable()
	}
	if err := s.checkTransport(r); err != nil {
		s.auditSignInFailed(r, "", stepMFA, err)
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return readError(err)
	}
	var p mfaParams
	if err := json.Unmarshal(body, &p); err != nil {
		return badRequest(httpx.CodeBadJSON, "Could not parse request body as JSON: %v", err)
	}
	switch {
	case p.ChallengeToken == "":
		return badRequest(CodeValidationFailed, "challenge_token is required: it is the answer of POST %s/sessions", Prefix)
	case p.FactorID == "":
		return badRequest(CodeValidationFailed, "factor_id is required: the id of one of the challenge's factors (%q for a backup code)", backupCodeFactor)
	case strings.TrimSpace(p.Code) == "":
		return badRequest(CodeValidationFailed, "Code needs to be non-empty")
	}
	ch, err := s.findChallenge(r, p.ChallengeToken)
	if err != nil {
		s.auditSignInFailed(r, ch.UserID, stepMFA, err)
		return err
	}
	if p.FactorID == backupCodeFactor {
		err = s.signIn.VerifyBackupCode(r, ch.UserID, p.Code)
	} else {
		err = s.signIn.VerifyTOTP(r, ch.UserID, p.FactorID, p.Code)
	}
	if err != nil {
		if appErr := httpx.AsAppError(err); appErr.Status < http.StatusInternalServerError {
			if cerr := s.countChallengeFailure(r.Context(), ch.ID); cerr != nil {
				return internalError(cerr)
			}
		}
		s.auditSignInFailed(r, ch.UserID, stepMFA, err)
		return err
	}
	method := "totp"
	if p.FactorID == backupCodeFactor {
		method = backupCodeFactor
	}
	cookie := wantsCookie(r, body)
	return s.openSession(w, r, signInAdmin{UserID: ch.UserID}, openParams{method: method, mfa: true, cookie: cookie, challenge: ch.ID})
}

// readError is the answer to a body that could not be read: a body over the limit keeps
// its 413, anything else is 400 bad_json, as auth answers both.
func readError(err error) error {
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		return err
	}
	return badRequest(httpx.CodeBadJSON, "Could not read request body").WithCause(err)
}

// signInChallenge is a stored challenge.
type signInChallenge struct {
	ID     string
	UserID string
}

// findChallenge returns the live challenge token names, issued to this client's address:
// unknown or expired is 422 mfa_challenge_expired, another address 422
// mfa_ip_address_mismatch (GoTrue's codes for its own challenges).
func (s *Service) findChallenge(r *http.Request, token string) (signInChallenge, error) {
	var (
		ch signInChallenge
		ip *netip.Addr
	)
	err := s.pool.QueryRow(r.Context(), `SELECT id, user_id, ip FROM goforward.admin_sign_in_challenges
WHERE token_hash = $1 AND expires_at > $2`, access.HashToken(token), s.now()).Scan(&ch.ID, &ch.UserID, &ip)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ch, challengeExpired()
	case err != nil:
		return ch, internalError(err)
	}
	if want, got := ipOrZero(ip), audit.ClientOf(r).IP.Unmap(); want != got {
		return ch, unprocessable(CodeMFAIPAddressMismatch, "Challenge and verify IP addresses mismatch.")
	}
	return ch, nil
}

func challengeExpired() *httpx.AppError {
	return unprocessable(CodeMFAChallengeExpired, "The sign-in challenge is unknown, used or has expired: sign in again with your password")
}

// countChallengeFailure adds a wrong code to the challenge and voids it at maxChallengeFailures.
func (s *Service) countChallengeFailure(ctx context.Context, id string) error {
	var failures int
	err := s.pool.QueryRow(ctx, `UPDATE goforward.admin_sign_in_challenges SET failed_attempts = failed_attempts + 1
WHERE id = $1 RETURNING failed_attempts`, id).Scan(&failures)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && failures < maxChallengeFailures {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin: count a wrong code: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM goforward.admin_sign_in_challenges WHERE id = $1`, id); err != nil {
		return fmt.Errorf("admin: void a challenge: %w", err)
	}
	return nil
}

func unprocessable(code, format string, args ...any) *httpx.AppError {
	return apiError(http.StatusUnprocessableEntity, code, format, args...)
}

func ipArg(ip netip.Addr) any {
	if !ip.IsValid() {
		return nil
	}
	return ip.Unmap().WithZone("").String()
}

func ipOrZero(ip *netip.Addr) netip.Addr {
	if ip == nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}
