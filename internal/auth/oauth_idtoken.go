package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// oauthErrorKey marks, in AppError.Details, an error GoTrue sends in OAuth's shape:
// {"error","error_description"}, status 400 (its OAuthError).
const oauthErrorKey = "oauth_error"

func oauthErr(code, description string) *httpx.AppError {
	e := badRequest("", "%s", description)
	e.Details = map[string]any{oauthErrorKey: code}
	return e
}

func renderOAuthError(w http.ResponseWriter, r *http.Request, code, description string) {
	if err := httpx.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description}); err != nil {
		httpx.Logger(r.Context()).DebugContext(r.Context(), "writing auth error failed", "error", err)
	}
}

// idTokenParams is the body of POST /token?grant_type=id_token.
type idTokenParams struct {
	IDToken      string `json:"id_token"`
	AccessToken  string `json:"access_token"`
	Nonce        string `json:"nonce"`
	Provider     string `json:"provider"`
	ClientID     string `json:"client_id"`
	Issuer       string `json:"issuer"`
	LinkIdentity bool   `json:"link_identity"`
	// gotrue_meta_security carries a captcha token, which Go Forward does not check.
	Meta map[string]any `json:"gotrue_meta_security"`
}

// idTokenGrant signs in with an id_token a native app obtained from the provider itself
// (signInWithIdToken: Google One Tap, Sign in with Apple), as GoTrue's IdTokenGrant.
func (s *Service) idTokenGrant(w http.ResponseWriter, r *http.Request) error {
	var p idTokenParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	if p.IDToken == "" {
		return oauthErr("invalid request", "id_token required")
	}
	if p.Provider == "" && (p.ClientID == "" || p.Issuer == "") {
		return oauthErr("invalid request", "provider or client_id and issuer required")
	}
	var target *caller
	if p.LinkIdentity {
		if r.Header.Get("Authorization") == "" {
			return oauthErr("invalid request", "Linking requires a valid user access token in Authorization")
		}
		c, err := s.requireUser(r)
		if err != nil {
			return err
		}
		target = c
	}
	prov, err := s.idTokenProvider(p)
	if err != nil {
		return err
	}
	if err := s.limit(r, s.limits.token); err != nil {
		return err
	}
	ctx, client := r.Context(), clientOf(r)
	idt, pu, err := prov.verifyIDToken(ctx, p.IDToken)
	if err == nil && p.AccessToken != "" && idt.AccessTokenHash != "" {
		err = idt.VerifyAccessToken(p.AccessToken)
	}
	if err != nil {
		return oauthErr("invalid request", "Bad ID token").WithCause(err)
	}
	if idt.Subject == "" {
		return oauthErr("invalid request", "Missing sub claim in id_token")
	}
	if !audienceMatches(idt.Audience, prov.cfg.ClientID) {
		return oauthErr("invalid request", fmt.Sprintf("Unacceptable audience in id_token: %v", idt.Audience))
	}
	if !prov.cfg.SkipNonceCheck {
		tokenHas, paramHas := idt.Nonce != "", p.Nonce != ""
		switch {
		case tokenHas != paramHas:
			return oauthErr("invalid request", "Passed nonce and nonce in id_token should either both exist or not.")
		case tokenHas:
			// The app keeps the nonce and gives the provider its SHA-256, so a token
			// captured elsewhere cannot be replayed without the nonce itself.
			sum := sha256.Sum256([]byte(p.Nonce))
			if !constantTimeEqual(hex.EncodeToString(sum[:]), idt.Nonce) {
				return oauthErr("invalid nonce", "Nonces mismatch")
			}
		}
	}
	settleEmail(pu)

	var (
		resp    *sessionResponse
		failure error
	)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			u   *user
			err error
		)
		if target != nil {
			u, failure, err = s.linkIdentity(ctx, tx, target.User.ID, prov.name, pu, s.cfg.SiteURL, client)
		} else {
			u, failure, err = s.userForExternal(ctx, tx, prov.name, pu, prov.cfg.EmailOptional, s.cfg.SiteURL, client)
		}
		if err != nil || failure != nil {
			return err
		}
		resp, err = s.startSession(ctx, tx, newSession{User: u, Method: methodOAuth, Provider: prov.name, Client: client})
		return err
	})
	if err != nil {
		return preserveAppError("Database error granting user", err)
	}
	if failure != nil {
		return failure
	}
	return writeJSON(w, resp)
}

// idTokenProvider is the configured OpenID Connect provider named by provider, or else
// whose issuer is issuer.
func (s *Service) idTokenProvider(p idTokenParams) (*oauthProvider, error) {
	name := strings.ToLower(p.Provider)
	if name == "" {
		for n, op := range s.oauth {
			if op.usesIDToken() && op.issuer() != "" && op.issuer() == strings.TrimRight(p.Issuer, "/") {
				name = n
			}
		}
	}
	op := s.oauth[name]
	switch {
	case op != nil && op.usesIDToken():
		return op, nil
	case name != "" && (op != nil || s.cfg.External[name].ClientID != nil || kindOf(name) != kindOIDC):
		return nil, badRequest(CodeProviderDisabled, "Provider (issuer %q) is not enabled", p.Issuer)
	}
	return nil, badRequest(CodeValidationFailed, "Custom OIDC provider %q not allowed", p.Provider)
}
