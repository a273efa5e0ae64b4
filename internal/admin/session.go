package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
)

// SignInAuth is what admin sign-in borrows from the auth service: an admin is a user, so its
// password, lockout, rate limits and second factors are auth's, checked by auth's own code.
// *auth.Service implements it; internal/cli passes it in (Deps.SignIn).
type SignInAuth interface {
	// CheckPassword reads the body ({email|phone, password}) and checks it exactly as POST
	// /auth/v1/token?grant_type=password does, up to the session. It returns the account's
	// id (also on most refusals, when the address names an account) and the body it read.
	CheckPassword(r *http.Request) (userID string, body json.RawMessage, err error)
	// SecondFactors lists the user's verified factors (GoTrue's factor objects) and counts
	// its unused backup codes.
	SecondFactors(ctx context.Context, userID string) (factors json.RawMessage, backupCodes int, err error)
	// VerifyTOTP checks a code of the user's verified TOTP factor (MFA rate limit and lock,
	// replay protection), counting a wrong one against the user.
	VerifyTOTP(r *http.Request, userID, factorID, code string) error
	// VerifyBackupCode uses up one of the user's backup codes, with the same guards.
	VerifyBackupCode(r *http.Request, userID, code string) error
	// RenderError writes an error as /auth/v1 does, so sign-in failures read like /token's.
	RenderError(w http.ResponseWriter, r *http.Request, err *httpx.AppError)
}

// Error codes of admin sign-in, beside GoTrue's (invalid_credentials, user_locked,
// over_request_rate_limit, mfa_verification_failed …) that auth answers with.
const (
	CodeHTTPSRequired         = "https_required"
	CodeMFAEnrollmentRequired = "mfa_enrollment_required"
	CodeMFAChallengeExpired   = "mfa_challenge_expired"
	CodeMFAIPAddressMismatch  = "mfa_ip_address_mismatch"
	CodeSignInUnavailable     = "sign_in_unavailable"
)

// CookieHeader asks sign-in for the dashboard's cookie instead of a token in the body, as
// `"cookie": true` does; the name is GoTrue's (x-use-cookie). Any non-empty value turns it on.
const CookieHeader = "X-Use-Cookie"

// maxUserAgent bounds the user agent stored with a session or challenge, as auth bounds its own.
const maxUserAgent = 512

// Audit actions of sign-in and sessions.
const (
	actionSignIn          = "admin.sign_in"
	actionSignInFailed    = "admin.sign_in_failed"
	actionSignInChallenge = "admin.sign_in_mfa_challenge"
	actionSignOut         = "admin.sign_out"
	actionSessionRevoked  = "admin.session_revoked"
)

// signInResponse is a successful sign-in. A cookie sign-in carries no token: the session
// rides in the HttpOnly cookie, and the body gives the CSRF token the dashboard must echo.
type signInResponse struct {
	Token        string              `json:"token,omitempty"`
	SessionID    string              `json:"session_id"`
	ExpiresAt    time.Time           `json:"expires_at"`
	Level        access.Level        `json:"level"`
	Capabilities access.Capabilities `json:"capabilities"`
	CSRFToken    string              `json:"csrf_token,omitempty"`
}

// signInAdmin is the admin row a sign-in opens a session for.
type signInAdmin struct {
	UserID string
	Email  string
	Level  access.Level
	Tables []string
	Groups []string
}

var errNotAdmin = errors.New("admin: not an active admin")

// loadSignInAdmin reads the active admin userID; errNotAdmin when there is none.
func loadSignInAdmin(ctx context.Context, q access.Querier, userID string) (signInAdmin, error) {
	a := signInAdmin{UserID: userID}
	var level string
	err := q.QueryRow(ctx, `SELECT a.level, a.assigned_tables, a.assigned_groups, coalesce(u.email, '')
FROM goforward.admins a JOIN auth.users u ON u.id = a.user_id
WHERE a.user_id = $1 AND a.revoked_at IS NULL`, userID).Scan(&level, &a.Tables, &a.Groups, &a.Email)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, errNotAdmin
	}
	if err != nil {
		return a, fmt.Errorf("admin: read admin: %w", err)
	}
	a.Level = access.Level(level)
	return a, nil
}

func notAdminError() *httpx.AppError {
	return forbidden(CodeNotAdmin, "This account is not an admin of this Go Forward instance")
}

// createSession serves POST /sessions: {email, password} (or phone) checked by auth exactly as
// /auth/v1/token checks it, then, for an active admin, either a session or, when a second
// factor is due, a challenge to finish at POST /sessions/mfa.
func (s *Service) createSession(w http.ResponseWriter, r *http.Request) error {
	if s.signIn == nil {
		return signInUnavailable()
	}
	if err := s.checkTransport(r); err != nil {
		s.auditSignInFailed(r, "", stepPassword, err)
		return err
	}
	userID, body, err := s.signIn.CheckPassword(r)
	if err != nil {
		s.auditSignInFailed(r, userID, stepPassword, err)
		return err
	}
	ctx := r.Context()
	a, err := loadSignInAdmin(ctx, s.pool, userID)
	if errors.Is(err, errNotAdmin) {
		refusal := notAdminError()
		s.auditSignInFailed(r, userID, stepPassword, refusal)
		return refusal
	}
	if err != nil {
		return internalError(err)
	}
	factors, enrolled, err := s.signInFactors(ctx, userID)
	if err != nil {
		return internalError(err)
	}
	if enrolled || s.mfaRequired(a.Level) {
		if len(factors) == 0 {
			refusal := mfaEnrollmentRequired(a.Level, enrolled)
			s.auditSignInFailed(r, userID, stepPassword, refusal)
			return refusal
		}
		return s.challenge(w, r, a, factors)
	}
	return s.openSession(w, r, a, openParams{method: "password", cookie: wantsCookie(r, body)})
}

func signInUnavailable() *httpx.AppError {
	return apiError(http.StatusServiceUnavailable, CodeSignInUnavailable, "Admin sign-in is not available: this admin service was built without the auth service")
}

// openParams describe how a sign-in was completed.
type openParams struct {
	method    string // password, totp or backup_code
	mfa       bool
	cookie    bool
	challenge string // the id of the challenge to consume in the same transaction, if any
}

// openSession opens a session for a, audited in the same transaction, and answers it: the
// token, or the cookie and its CSRF token. A challenge it finishes is consumed in that
// transaction too, and the admin is read again there, so a challenge cannot open two
// sessions and an admin revoked meanwhile gets none.
func (s *Service) openSession(w http.ResponseWriter, r *http.Request, a signInAdmin, o openParams) error {
	ctx, client := r.Context(), audit.ClientOf(r)
	var opened access.Opened
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if o.challenge != "" {
			tag, err := tx.Exec(ctx, `DELETE FROM goforward.admin_sign_in_challenges WHERE id = $1`, o.challenge)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return challengeExpired()
			}
			if a, err = loadSignInAdmin(ctx, tx, a.UserID); err != nil {
				return err
			}
		}
		var err error
		opened, err = s.auth.Sessions.Create(ctx, tx, access.NewSession{
			UserID: a.UserID, Kind: access.KindAdmin, Level: a.Level, Capabilities: access.For(a.Level, a.Tables, a.Groups),
			MFAVerified: o.mfa, IP: client.IP, UserAgent: truncate(client.UserAgent, maxUserAgent),
		})
		if err != nil {
			return err
		}
		e := audit.Entry{
			Actor:  audit.Actor{Type: audit.ActorAdmin, ID: a.UserID, Email: a.Email, SessionID: opened.ID},
			Action: actionSignIn, ResourceType: "admin_session", ResourceID: opened.ID, Client: client,
			Details: map[string]any{"method": o.method, "mfa": o.mfa, "cookie": o.cookie, "level": string(a.Level)},
		}
		return audit.Record(ctx, tx, e)
	})
	var appErr *httpx.AppError
	switch {
	case errors.As(err, &appErr):
		s.auditSignInFailed(r, a.UserID, stepMFA, appErr)
		return appErr
	case errors.Is(err, errNotAdmin):
		refusal := notAdminError()
		s.auditSignInFailed(r, a.UserID, stepMFA, refusal)
		return refusal
	case err != nil:
		return internalError(err)
	}
	resp := signInResponse{SessionID: opened.ID, ExpiresAt: opened.ExpiresAt, Level: opened.Level, Capabilities: opened.Capabilities}
	if o.cookie {
		access.SetCookie(w, opened, s.cfg.SecureCookies)
		resp.CSRFToken = opened.CSRF
	} else {
		resp.Token = opened.Token
	}
	return writeJSON(w, http.StatusOK, resp)
}

// wantsCookie reports whether the sign-in asked for the dashboard's cookie: the header, or
// "cookie": true in the body (any other value, or none, means a token in the body).
func wantsCookie(r *http.Request, body []byte) bool {
	if r.Header.Get(CookieHeader) != "" {
		return true
	}
	var p struct {
		Cookie json.RawMessage `json:"cookie"`
	}
	return json.Unmarshal(body, &p) == nil && bytes.Equal(bytes.TrimSpace(p.Cookie), []byte("true"))
}

// Steps of a sign-in, as failures are audited.
const (
	stepPassword = "password"
	stepMFA      = "mfa"
)

// auditSignInFailed records a refused sign-in: who (the account the address names, when it
// does), at which step, and the error code given. Refusals by a rate limit are not
// recorded, since the limit exists to make floods cheap, nor are server failures. It is
// written on its own, detached from the request, so a client that hangs up cannot erase it.
func (s *Service) auditSignInFailed(r *http.Request, userID, step string, err error) {
	appErr := httpx.AsAppError(err)
	if appErr.Status >= http.StatusInternalServerError || appErr.Status == httpx.StatusClientClosedRequest ||
		appErr.Code == "over_request_rate_limit" {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	actor := audit.Actor{Type: audit.ActorAnon}
	if userID != "" {
		actor = audit.Actor{Type: audit.ActorUser, ID: userID}
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(email, '') FROM auth.users WHERE id = $1`, userID).Scan(&actor.Email); err != nil &&
			!errors.Is(err, pgx.ErrNoRows) {
			s.logger.Error("admin: audit a refused sign-in", "error", err)
		}
	}
	e := audit.Entry{
		Actor: actor, Action: actionSignInFailed, Outcome: audit.Denied, Severity: audit.Warning, Client: audit.ClientOf(r),
		Details: map[string]any{"step": step, "error_code": appErr.Code, "status": appErr.Status},
	}
	if userID != "" {
		e.ResourceType, e.ResourceID = "user", userID
	}
	if err := audit.Record(ctx, s.pool, e); err != nil {
		s.logger.Error("admin: audit a refused sign-in", "error", err)
	}
}

// publicRenderer renders the errors of the sign-in routes: as auth renders them, so that a
// refused admin sign-in is byte for byte a refused /auth/v1/token.
func (s *Service) publicRenderer() httpx.ErrorRenderer {
	if s.signIn == nil {
		return renderError
	}
	return s.signIn.RenderError
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
