package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
)

// Authentication methods recorded in auth.mfa_amr_claims and the amr claim, GoTrue's names.
const (
	methodPassword    = "password"
	methodOTP         = "otp"
	methodMagicLink   = "magiclink"
	methodRecovery    = "recovery"
	methodEmailSignup = "email/signup"
	methodEmailChange = "email_change"
	methodInvite      = "invite"
	methodAnonymous   = "anonymous"
	methodCustom      = "custom"
)

// Assurance levels of a session.
const (
	aal1 = "aal1"
	aal2 = "aal2"
)

// amrEntry is one element of the amr claim.
type amrEntry struct {
	Method    string `json:"method"`
	Timestamp int64  `json:"timestamp"`
	Provider  string `json:"provider,omitempty"`
}

// sessionResponse is GoTrue's token response (§2.2): what /token, POST /verify and an
// autoconfirmed /signup return.
type sessionResponse struct {
	AccessToken  string        `json:"access_token"`
	TokenType    string        `json:"token_type"`
	ExpiresIn    int           `json:"expires_in"`
	ExpiresAt    int64         `json:"expires_at"`
	RefreshToken string        `json:"refresh_token"`
	User         *user         `json:"user"`
	WeakPassword *weakPassword `json:"weak_password,omitempty"`
	// ProviderToken and ProviderRefreshToken are an OAuth provider's own tokens, handed to
	// the client once when a PKCE sign-in through that provider is exchanged.
	ProviderToken        string `json:"provider_token,omitempty"`
	ProviderRefreshToken string `json:"provider_refresh_token,omitempty"`
}

// weakPassword tells a client that signed in with a password the current policy rejects.
type weakPassword struct {
	Reasons []string `json:"reasons"`
	Message string   `json:"message"`
}

// fragment is the response as GET /verify puts it in a redirect's URL fragment.
func (r *sessionResponse) fragment(verifyType string) string {
	v := url.Values{}
	v.Set("access_token", r.AccessToken)
	v.Set("token_type", r.TokenType)
	v.Set("expires_in", strconv.Itoa(r.ExpiresIn))
	v.Set("expires_at", strconv.FormatInt(r.ExpiresAt, 10))
	v.Set("refresh_token", r.RefreshToken)
	v.Set("type", verifyType)
	return v.Encode() + "&sb="
}

// accessToken signs the JWT for u's session with GoTrue's claims (reference §1.5).
func (s *Service) accessToken(ctx context.Context, u *user, sessionID, aal string, amr []amrEntry, now time.Time) (string, int64, error) {
	exp := now.Add(s.cfg.JWTExpiry).Unix()
	claims := map[string]any{
		"iss":           s.cfg.Issuer,
		"sub":           u.ID,
		"aud":           u.Aud,
		"exp":           exp,
		"iat":           now.Unix(),
		"email":         u.Email,
		"phone":         u.Phone,
		"app_metadata":  u.AppMetadata,
		"user_metadata": u.UserMetadata,
		"role":          u.Role,
		"aal":           aal,
		"amr":           amr,
		"session_id":    sessionID,
		"is_anonymous":  u.IsAnonymous,
	}
	method := ""
	if len(amr) > 0 {
		method = amr[len(amr)-1].Method
	}
	claims, err := s.customClaims(ctx, u.ID, method, claims)
	if err != nil {
		return "", 0, err
	}
	token, err := s.keys.SignAccessToken(jwt.MapClaims(claims))
	if err != nil {
		return "", 0, err
	}
	return token, exp, nil
}

// newSession describes a session to start.
type newSession struct {
	User     *user
	Method   string // how the user authenticated (an amr method)
	Provider string // the identity used: email, phone, anonymous or a custom provider's name
	Client   clientInfo
}

// startSession creates a session for ns.User with its first refresh token, records the
// sign-in (last_sign_in_at, audit log, security event) and returns the token response. The
// writes go in one round trip inside tx, which callers always open: a session must never be
// left without its refresh token, whatever else the caller writes alongside.
func (s *Service) startSession(ctx context.Context, tx pgx.Tx, ns newSession) (*sessionResponse, error) {
	now := s.now()
	u := ns.User
	sessionID := newID()
	refresh := rand.Text()
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip, refreshed_at)
		VALUES ($1, $2, $3, $3, 'aal1', $4, $5, $6)`, sessionID, u.ID, now, ns.Client.UserAgent, ns.Client.ipArg(), now)
	b.Queue(`INSERT INTO auth.mfa_amr_claims (id, session_id, created_at, updated_at, authentication_method)
		VALUES ($1, $2, $3, $3, $4)`, newID(), sessionID, now, ns.Method)
	b.Queue(`INSERT INTO auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, session_id)
		VALUES ($1, $2, false, $3, $3, $4)`, sha256Hex(refresh), u.ID, now, sessionID)
	b.Queue(`UPDATE auth.users SET last_sign_in_at = $2 WHERE id = $1`, u.ID, now)
	if address := clientAddress(ns.Client.IP); address != "" {
		// Password lockout lets the owner in from here while guesses from elsewhere lock the
		// account (lockout.go).
		b.Queue(`INSERT INTO auth.sign_in_addresses AS a (user_id, address, last_sign_in_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id, address) DO UPDATE SET last_sign_in_at = $3`, u.ID, address, now)
	}
	b.Queue(`UPDATE auth.identities SET last_sign_in_at = $2 WHERE user_id = $1 AND provider = $3`, u.ID, now, ns.Provider)
	queueAudit(b, u, auditLogin, map[string]any{"provider": ns.Provider}, ns.Client, now)
	securityEvent{UserID: u.ID, Type: eventSignIn, Details: map[string]any{"method": ns.Method, "session_id": sessionID}}.queue(b, ns.Client, now)
	if err := runBatch(ctx, tx, b); err != nil {
		return nil, fmt.Errorf("start session: %w", err)
	}
	u.LastSignInAt = &now
	return s.respond(ctx, u, sessionID, aal1, []amrEntry{{Method: ns.Method, Timestamp: now.Unix()}}, refresh, now)
}

// respond builds the token response for an existing session.
func (s *Service) respond(ctx context.Context, u *user, sessionID, aal string, amr []amrEntry, refresh string, now time.Time) (*sessionResponse, error) {
	token, exp, err := s.accessToken(ctx, u, sessionID, aal, amr, now)
	if err != nil {
		return nil, err
	}
	return &sessionResponse{
		AccessToken:  token,
		TokenType:    "bearer",
		ExpiresIn:    int(s.cfg.JWTExpiry / time.Second),
		ExpiresAt:    exp,
		RefreshToken: refresh,
		User:         u,
	}, nil
}

// decodeAMR reads the amr claims JSON built by amrColumn.
func decodeAMR(raw []byte) ([]amrEntry, error) {
	var amr []amrEntry
	if len(raw) == 0 {
		return amr, nil
	}
	if err := json.Unmarshal(raw, &amr); err != nil {
		return nil, fmt.Errorf("decode amr: %w", err)
	}
	return amr, nil
}

// amrColumn selects the amr entries of session s as a JSON array, newest first.
const amrColumn = `coalesce((SELECT json_agg(json_build_object('method', c.authentication_method,
	'timestamp', floor(extract(epoch FROM c.created_at))::bigint) ORDER BY c.created_at DESC)
	FROM auth.mfa_amr_claims c WHERE c.session_id = s.id), '[]')`
