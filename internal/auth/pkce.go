package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PKCE (RFC 7636) as GoTrue does it: a request that starts an e-mail flow with a
// code_challenge gets a flow state; the e-mail link then redirects with ?code= instead of
// tokens, and the client exchanges the code and its verifier at
// POST /token?grant_type=pkce.

// pkceParams are the PKCE fields of the bodies of /signup, /otp, /recover and /resend.
type pkceParams struct {
	CodeChallenge       string `json:"code_challenge"`
	CodeChallengeMethod string `json:"code_challenge_method"`
}

// pkceChallenge is a validated challenge.
type pkceChallenge struct {
	Challenge string
	Method    string // "s256" or "plain"
}

// parse returns nil when the request does not use PKCE.
func (p pkceParams) parse() (*pkceChallenge, error) {
	if p.CodeChallenge == "" && p.CodeChallengeMethod == "" {
		return nil, nil
	}
	if p.CodeChallenge == "" || p.CodeChallengeMethod == "" {
		return nil, badRequest(CodeValidationFailed, "PKCE flow requires code_challenge_method and code_challenge")
	}
	method := strings.ToLower(p.CodeChallengeMethod)
	if method != "s256" && method != "plain" {
		return nil, badRequest(CodeValidationFailed, "code challenge method not supported")
	}
	if n := len(p.CodeChallenge); n < 43 || n > 128 {
		return nil, badRequest(CodeValidationFailed, "code challenge has to be between 43 and 128 characters")
	}
	return &pkceChallenge{Challenge: p.CodeChallenge, Method: method}, nil
}

// matches checks verifier against the challenge in constant time.
func (c pkceChallenge) matches(verifier string) bool {
	want := verifier
	if c.Method == "s256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(c.Challenge)) == 1
}

// createFlowState records a PKCE flow for userID. Its auth code is issued only when the flow
// completes (issueAuthCode); until then the column holds an unguessable placeholder.
func createFlowState(ctx context.Context, q querier, userID, authMethod, providerType string, c pkceChallenge, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO auth.flow_state (id, user_id, auth_code, code_challenge_method, code_challenge,
			provider_type, authentication_method, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		newID(), userID, sha256Hex(rand.Text()), c.Method, c.Challenge, providerType, authMethod, now)
	if err != nil {
		return fmt.Errorf("create flow state: %w", err)
	}
	return nil
}

// issueAuthCode hands out the auth code of the user's newest flow for authMethod; only its
// hash is kept. errNotFound means there is no such flow.
func issueAuthCode(ctx context.Context, q querier, userID, authMethod string, now time.Time) (string, error) {
	code := rand.Text()
	tag, err := q.Exec(ctx, `UPDATE auth.flow_state SET auth_code = $3, auth_code_issued_at = $4, updated_at = $4
		WHERE id = (SELECT id FROM auth.flow_state WHERE user_id = $1 AND authentication_method = $2
			ORDER BY created_at DESC LIMIT 1)`, userID, authMethod, sha256Hex(code), now)
	if err != nil {
		return "", fmt.Errorf("issue auth code: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return "", errNotFound
	}
	return code, nil
}

// pkceGrantParams is the body of POST /token?grant_type=pkce.
type pkceGrantParams struct {
	AuthCode     string `json:"auth_code"`
	CodeVerifier string `json:"code_verifier"`
}

// pkceGrant exchanges an auth code and its verifier for a session. The flow state is used up
// by the exchange, successful or not.
func (s *Service) pkceGrant(w http.ResponseWriter, r *http.Request) error {
	var p pkceGrantParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	if p.AuthCode == "" || p.CodeVerifier == "" {
		return badRequest(CodeValidationFailed, "invalid request: both auth code and code verifier should be non-empty")
	}
	if len(p.AuthCode) > maxTokenLength || len(p.CodeVerifier) > 128 {
		return notFound(CodeFlowStateNotFound, "invalid flow state, no valid flow state found")
	}
	if err := s.limit(r, s.limits.token); err != nil {
		return err
	}
	ctx, client, now := r.Context(), clientOf(r), s.now()
	var (
		resp    *sessionResponse
		failure error
	)
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			flowID, userID, method, provider string
			challenge                        pkceChallenge
			issuedAt                         time.Time
			providerTokens                   [2]*string
		)
		err := tx.QueryRow(ctx, `DELETE FROM auth.flow_state WHERE auth_code = $1 AND auth_code_issued_at IS NOT NULL
				AND code_challenge IS NOT NULL
			RETURNING id, user_id, authentication_method, provider_type, code_challenge, code_challenge_method::text,
				auth_code_issued_at, provider_access_token, provider_refresh_token`,
			sha256Hex(p.AuthCode)).Scan(&flowID, &userID, &method, &provider, &challenge.Challenge, &challenge.Method,
			&issuedAt, &providerTokens[0], &providerTokens[1])
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			failure = notFound(CodeFlowStateNotFound, "invalid flow state, no valid flow state found")
			return nil
		case err != nil:
			return internalError("Database error finding flow state", err)
		case now.After(issuedAt.Add(s.cfg.FlowStateExpiry)):
			failure = unprocessable(CodeFlowStateExpired, "invalid flow state, flow state has expired")
			return nil
		case !challenge.matches(p.CodeVerifier):
			failure = badRequest(CodeBadCodeVerifier, "code challenge does not match previously saved code verifier")
			return nil
		}
		u, err := findUserByID(ctx, tx, userID)
		if err != nil {
			return internalError("Database error finding user", err)
		}
		if u.banned(now) {
			failure = badRequest(CodeUserBanned, "User is banned")
			return nil
		}
		resp, err = s.startSession(ctx, tx, newSession{User: u, Method: method, Provider: provider, Client: client})
		if err == nil && method == methodOAuth {
			resp.ProviderToken, resp.ProviderRefreshToken = s.openProviderTokens(flowID, providerTokens)
		}
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
