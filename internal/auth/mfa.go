package auth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// MFA limits, GoTrue's defaults.
const (
	// maxEnrolledFactors bounds a user's factors, verified or not (MFA_MAX_ENROLLED_FACTORS).
	maxEnrolledFactors = 10
	// challengeLifetime is how long a challenge can be verified (MFA_CHALLENGE_EXPIRY_DURATION).
	challengeLifetime = 300 * time.Second
	// unverifiedFactorLifetime is how long an enrolment that was never verified blocks its
	// name and a place among maxEnrolledFactors (MFA_FACTOR_EXPIRY_DURATION).
	unverifiedFactorLifetime = 300 * time.Second
	// maxFriendlyName bounds friendly_name.
	maxFriendlyName = 255
)

// mfaRoutes are the MFA routes: GoTrue's /factors and Go Forward's backup codes.
func (s *Service) mfaRoutes() map[string]httpx.HandlerFunc {
	return map[string]httpx.HandlerFunc{
		"POST /factors":                     s.enrollFactor,
		"POST /factors/{id}/challenge":      s.challengeFactor,
		"POST /factors/{id}/verify":         s.verifyFactor,
		"DELETE /factors/{id}":              s.unenrollFactor,
		"GET /factors/backup_codes":         s.backupCodesStatus,
		"POST /factors/backup_codes":        s.generateBackupCodes,
		"DELETE /factors/backup_codes":      s.deleteBackupCodes,
		"POST /factors/backup_codes/verify": s.verifyBackupCode,
	}
}

// requireMFAUser is requireUser for the MFA endpoints: they read and raise the session's
// assurance level, so the token must name a session, and anonymous users have no factors
// (GoTrue answers them 403 no_authorization).
func (s *Service) requireMFAUser(r *http.Request) (*caller, error) {
	c, err := s.requireUser(r)
	if err != nil {
		return nil, err
	}
	if c.User.IsAnonymous {
		return nil, forbidden(CodeNoAuthorization, "Anonymous user not allowed to perform these actions")
	}
	if c.Session == nil {
		return nil, forbidden(CodeSessionNotFound, "A valid session is required to manage MFA factors")
	}
	return c, nil
}

// loadFactor finds the caller's factor named by the path: a malformed id or another user's
// factor is 404 as GoTrue answers it.
func (s *Service) loadFactor(r *http.Request, c *caller) (*factorRow, error) {
	id := r.PathValue("id")
	if !isUUID(id) {
		return nil, notFound(CodeValidationFailed, "factor_id must be an UUID")
	}
	f, err := findFactor(r.Context(), s.pool, c.User.ID, id, false)
	switch {
	case errors.Is(err, errNotFound):
		return nil, notFound(CodeMFAFactorNotFound, "Factor not found")
	case err != nil:
		return nil, internalError("Database error loading factor", err)
	}
	return f, nil
}

// enrollParams is the body of POST /factors.
type enrollParams struct {
	FactorType   string `json:"factor_type"`
	FriendlyName string `json:"friendly_name"`
	Issuer       string `json:"issuer"`
	Phone        string `json:"phone"`
}

// enrollFactor is POST /factors (supabase.auth.mfa.enroll): a new, unverified factor that
// the first successful challenge and verify turns verified.
func (s *Service) enrollFactor(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireMFAUser(r)
	if err != nil {
		return err
	}
	var p enrollParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	if len(p.FriendlyName) > maxFriendlyName {
		return badRequest(CodeValidationFailed, "friendly_name must be at most %d characters", maxFriendlyName)
	}
	switch p.FactorType {
	case factorTOTP:
		return s.enrollTOTP(w, r, c, p)
	case factorPhone:
		if !s.cfg.MFAPhone {
			return unprocessable(CodeMFAPhoneEnrollDisabled, "MFA enroll is disabled for Phone")
		}
		return s.enrollPhone(w, r, c, p)
	case factorWebAuthn:
		return unprocessable(CodeMFAWebAuthnEnrollDisabled, "MFA enroll is disabled for WebAuthn")
	}
	return badRequest(CodeValidationFailed, "factor_type needs to be totp, phone, or webauthn")
}

// enrollResponse is POST /factors' answer.
type enrollResponse struct {
	ID           string      `json:"id"`
	Type         string      `json:"type"`
	FriendlyName string      `json:"friendly_name"`
	TOTP         *totpObject `json:"totp,omitempty"`
	Phone        string      `json:"phone,omitempty"`
}

// totpObject is what an authenticator app needs: the QR code (raw SVG markup), the secret
// (base32) for typing in, and the otpauth:// URI the QR code holds.
type totpObject struct {
	QRCode string `json:"qr_code"`
	Secret string `json:"secret"`
	URI    string `json:"uri"`
}

// insertFactor checks GoTrue's enrolment rules and stores a new unverified factor, all in
// tx with the user's row locked, so that concurrent enrolments cannot pass the limits
// together. Unverified factors nobody verified within unverifiedFactorLifetime are dropped
// first, as GoTrue does.
func (s *Service) insertFactor(ctx context.Context, tx pgx.Tx, c *caller, f factorRow, sealedSecret string, client clientInfo) error {
	now := s.now()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM auth.users WHERE id = $1 FOR UPDATE`, c.User.ID); err != nil {
		return internalError("Database error loading user", err)
	}
	stale := now.Add(-unverifiedFactorLifetime)
	if _, err := tx.Exec(ctx, `DELETE FROM auth.mfa_factors WHERE user_id = $1 AND status = 'unverified'
		AND created_at < $2 AND (last_challenged_at IS NULL OR last_challenged_at < $2)`, c.User.ID, stale); err != nil {
		return internalError("Database error deleting expired factors", err)
	}
	factors, err := listFactors(ctx, tx, c.User.ID)
	if err != nil {
		return internalError("Database error loading factors", err)
	}
	verified := 0
	for _, existing := range factors {
		if f.FriendlyName != "" && existing.FriendlyName == f.FriendlyName {
			return unprocessable(CodeMFAFactorNameConflict, "A factor with the friendly name %q for this user already exists", f.FriendlyName)
		}
		if existing.verified() {
			verified++
		}
	}
	switch {
	case len(factors) >= maxEnrolledFactors:
		return unprocessable(CodeTooManyEnrolledMFAFactors, "Maximum number of verified factors reached, unenroll to continue")
	case verified > 0 && c.Session.AAL != aal2:
		return forbidden(CodeInsufficientAAL, "AAL2 required to enroll a new factor")
	}
	_, err = tx.Exec(ctx, `INSERT INTO auth.mfa_factors (id, user_id, friendly_name, factor_type, status, created_at, updated_at, secret, phone)
		VALUES ($1, $2, nullif($3, ''), $4, 'unverified', $5, $5, nullif($6, ''), nullif($7, ''))`,
		f.ID, c.User.ID, f.FriendlyName, f.FactorType, now, sealedSecret, f.Phone)
	if isUniqueViolation(err, "mfa_factors_user_friendly_name_unique") {
		return unprocessable(CodeMFAFactorNameConflict, "A factor with the friendly name %q for this user already exists", f.FriendlyName).WithCause(err)
	}
	if err != nil {
		return internalError("Database error saving factor", err)
	}
	details := map[string]any{"factor_id": f.ID, "factor_type": f.FactorType}
	if err := recordAudit(ctx, tx, c.User, auditFactorEnrolled, details, client, now); err != nil {
		return err
	}
	return securityEvent{UserID: c.User.ID, Type: eventMFAEnrolled, Details: details}.record(ctx, tx, client, now)
}

// unenrollFactor is DELETE /factors/{id} (supabase.auth.mfa.unenroll). Removing a verified
// factor takes an aal2 session, as GoTrue requires.
func (s *Service) unenrollFactor(w http.ResponseWriter, r *http.Request) error {
	c, err := s.requireMFAUser(r)
	if err != nil {
		return err
	}
	f, err := s.loadFactor(r, c)
	if err != nil {
		return err
	}
	if f.verified() && c.Session.AAL != aal2 {
		return unprocessable(CodeInsufficientAAL, "AAL2 required to unenroll verified factor")
	}
	ctx, client, now := r.Context(), clientOf(r), s.now()
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		codesDropped, err := removeFactor(ctx, tx, f, now)
		if err != nil {
			return internalError("Database error deleting factor", err)
		}
		details := map[string]any{"factor_id": f.ID, "factor_type": f.FactorType, "factor_status": f.Status, "session_id": c.Session.ID}
		if err := recordAudit(ctx, tx, c.User, auditFactorUnenrolled, details, client, now); err != nil {
			return err
		}
		if err := (securityEvent{UserID: c.User.ID, Type: eventMFAUnenrolled, Details: details}).record(ctx, tx, client, now); err != nil {
			return err
		}
		return s.recordBackupCodesDropped(ctx, tx, c.User, codesDropped, client, now)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]string{"id": f.ID})
}
