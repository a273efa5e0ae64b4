package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/goforward/goforward/internal/httpx"
)

// methodOAuth is the amr method and flow_state.authentication_method of OAuth sign-ins.
const methodOAuth = "oauth"

// reservedOAuthParams are the authorization parameters this server controls; a client's
// query string cannot override them (GoTrue's reservedOAuthParams, nonce aside: a client may
// choose the nonce, which the id_token must then carry).
var reservedOAuthParams = []string{"client_id", "client_secret", "redirect_uri", "response_type", "state",
	"code_challenge", "code_challenge_method", "code_verifier", "response_mode"}

// authorize is GET /authorize?provider=…: it records the flow and redirects the browser to
// the provider.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request) error {
	target, err := s.providerRedirect(r, nil)
	if err != nil {
		return err
	}
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// providerRedirect records an OAuth flow (for linkTarget when manual linking) and returns
// the provider's authorization URL.
func (s *Service) providerRedirect(r *http.Request, linkTarget *user) (string, error) {
	q := r.URL.Query()
	name := strings.ToLower(q.Get("provider"))
	p := s.oauth[name]
	if p == nil {
		if pc, ok := s.cfg.External[name]; ok && !pc.Enabled {
			return "", badRequest(CodeValidationFailed, "Unsupported provider: provider is not enabled")
		}
		return "", badRequest(CodeValidationFailed, "Unsupported provider: Provider %s could not be found", name)
	}
	pkce, err := pkceParams{CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method")}.parse()
	if err != nil {
		return "", err
	}
	ctx := r.Context()
	cfg, err := p.config(ctx, q.Get("scopes"))
	if err != nil {
		return "", badRequest(CodeValidationFailed, "Unsupported provider: the provider's OpenID configuration could not be loaded").WithCause(err)
	}
	var opts []oauth2.AuthCodeOption
	for key, values := range q {
		lower := strings.ToLower(key)
		switch {
		case lower == "provider" || lower == "scopes" || lower == "redirect_to" || lower == "skip_http_redirect" || lower == "nonce":
		case slices.Contains(reservedOAuthParams, lower):
		default:
			opts = append(opts, oauth2.SetAuthURLParam(key, values[0]))
		}
	}
	var nonce *string
	if p.usesIDToken() {
		n := q.Get("nonce")
		if n == "" {
			n = rand.Text()
		}
		nonce = &n
		opts = append(opts, oauth2.SetAuthURLParam("nonce", n))
	}
	if p.kind == kindApple {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	var challenge, method, linkID *string
	if pkce != nil {
		challenge, method = &pkce.Challenge, &pkce.Method
	}
	if linkTarget != nil {
		linkID = &linkTarget.ID
	}
	id, now := newID(), s.now()
	_, err = s.pool.Exec(ctx, `INSERT INTO auth.flow_state (id, provider_type, authentication_method, code_challenge,
			code_challenge_method, referrer, linking_target_id, email_optional, oidc_nonce, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		id, name, methodOAuth, challenge, method, s.redirectTo(r), linkID, p.cfg.EmailOptional, nonce, now)
	if err != nil {
		return "", internalError("Error creating flow state", err)
	}
	return cfg.AuthCodeURL(s.signState(id), opts...), nil
}

// signState is the state parameter of flow id: the id and a MAC over it under a key derived
// from the JWT secret, so that only states this server issued reach the database.
func (s *Service) signState(id string) string {
	mac := strings.TrimPrefix(s.secrets.seal("", "oauth_state:"+id), sealedPrefix)
	return id + "." + strings.NewReplacer("+", "-", "/", "_").Replace(mac)
}

// stateFlowID checks a state from signState and returns its flow id.
func (s *Service) stateFlowID(state string) (string, bool) {
	id, mac, ok := strings.Cut(state, ".")
	if !ok || !isUUID(id) || mac == "" || len(mac) > 64 {
		return "", false
	}
	mac = strings.NewReplacer("-", "+", "_", "/").Replace(mac)
	if _, err := s.secrets.open(sealedPrefix+mac, "oauth_state:"+id); err != nil {
		return "", false
	}
	return id, true
}

// oauthFlow is an auth.flow_state row of an OAuth flow.
type oauthFlow struct {
	ID, Provider, Referrer string
	PKCE                   bool
	LinkingTargetID        *string
	Nonce                  string
	EmailOptional          bool
	CreatedAt              time.Time
}

// loadFlow finds the flow a callback's state names.
func (s *Service) loadFlow(ctx context.Context, state string) (*oauthFlow, error) {
	if state == "" {
		return nil, badRequest(CodeBadOAuthCallback, "OAuth state parameter missing")
	}
	id, ok := s.stateFlowID(state)
	if !ok {
		return nil, badRequest(CodeBadOAuthState, "OAuth state parameter is invalid")
	}
	f := oauthFlow{ID: id}
	var (
		userID *string
		nonce  *string
	)
	err := s.pool.QueryRow(ctx, `SELECT provider_type, coalesce(referrer, ''), code_challenge IS NOT NULL,
			linking_target_id::text, oidc_nonce, email_optional, created_at, user_id::text
		FROM auth.flow_state WHERE id = $1 AND authentication_method = $2`, id, methodOAuth).
		Scan(&f.Provider, &f.Referrer, &f.PKCE, &f.LinkingTargetID, &nonce, &f.EmailOptional, &f.CreatedAt, &userID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, badRequest(CodeBadOAuthState, "OAuth state not found or expired")
	case err != nil:
		return nil, internalError("Error loading flow state", err)
	case s.now().After(f.CreatedAt.Add(s.cfg.FlowStateExpiry)):
		return nil, badRequest(CodeBadOAuthState, "OAuth state has expired")
	case userID != nil:
		return nil, badRequest(CodeFlowStateAlreadyUsed, "State has already been used")
	}
	f.Nonce = deref(nonce)
	return &f, nil
}

// callback is GET|POST /callback: the provider sends the browser back with a code (Apple
// posts it). Errors go back to the application as GoTrue sends them: before the flow is
// known, 303 to site_url with the error in the query; after, 302 to the flow's redirect with
// it in the query and the fragment.
func (s *Service) callback(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return badRequest(CodeBadOAuthCallback, "OAuth callback could not be parsed")
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		params = r.Form
	}
	flow, err := s.loadFlow(r.Context(), params.Get("state"))
	if err != nil {
		return s.redirectError(w, r, s.cfg.SiteURL, err, http.StatusSeeOther, false)
	}
	target := flow.Referrer
	if target == "" {
		target = s.cfg.SiteURL
	}
	dest, err := s.finishOAuth(r, params, flow, target)
	if err != nil {
		return s.redirectError(w, r, target, err, http.StatusFound, true)
	}
	http.Redirect(w, r, dest, http.StatusFound)
	return nil
}

// oauthError is an error the provider reported (?error=…), passed on as it came.
type oauthError struct{ Code, Description string }

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

// redirectError sends the browser to target with err in the query (and the fragment).
func (s *Service) redirectError(w http.ResponseWriter, r *http.Request, target string, err error, status int, fragment bool) error {
	u, perr := url.Parse(target)
	if perr != nil {
		return internalError("site url is improperly formatted", perr)
	}
	q := u.Query()
	var (
		oe  *oauthError
		app *httpx.AppError
	)
	switch {
	case errors.As(err, &oe):
		q.Set("error", oe.Code)
		q.Set("error_description", oe.Description)
	case errors.As(err, &app):
		switch {
		case app.Code == CodeSignupDisabled || app.Code == CodeUserBanned || app.Code == CodeProviderEmailNeedsVerification:
			q.Set("error", "access_denied")
		case app.Status >= 500:
			q.Set("error", "server_error")
		case app.Status == http.StatusUnauthorized:
			q.Set("error", "unauthorized_client")
		case app.Status == http.StatusForbidden:
			q.Set("error", "access_denied")
		default:
			q.Set("error", "invalid_request")
		}
		msg := app.Message
		if app.Status >= 500 {
			httpx.Logger(r.Context()).ErrorContext(r.Context(), "oauth callback failed", "error", app.Error())
		}
		q.Set("error_description", msg)
		q.Set("error_code", app.Code)
	default:
		return err
	}
	u.RawQuery = q.Encode()
	if fragment {
		h := url.Values{}
		for _, k := range []string{"error", "error_description", "error_code"} {
			if v := q.Get(k); v != "" {
				h.Set(k, v)
			}
		}
		h.Set("sb", "")
		u.Fragment, u.RawFragment = "", ""
		http.Redirect(w, r, u.String()+"#"+h.Encode(), status)
		return nil
	}
	http.Redirect(w, r, u.String(), status)
	return nil
}

// finishOAuth completes a flow: it exchanges the code, learns who signed in, finds or
// creates (or links) the user and returns where the browser goes next.
func (s *Service) finishOAuth(r *http.Request, params url.Values, flow *oauthFlow, target string) (string, error) {
	if e := params.Get("error"); e != "" {
		return "", &oauthError{Code: e, Description: params.Get("error_description")}
	}
	code := params.Get("code")
	if code == "" {
		return "", badRequest(CodeBadOAuthCallback, "OAuth callback with missing authorization code missing")
	}
	p := s.oauth[flow.Provider]
	if p == nil {
		return "", badRequest(CodeOAuthProviderNotSupported, "Unsupported provider: Provider %s could not be found", flow.Provider)
	}
	ctx, client := r.Context(), clientOf(r)
	tok, err := p.exchange(ctx, code)
	if err != nil {
		return "", internalError(fmt.Sprintf("Unable to exchange external code: %s", code[:min(4, len(code))]), err)
	}
	pu, err := p.userData(ctx, tok, flow.Nonce)
	if err != nil {
		return "", internalError("Error getting user profile from external provider", err)
	}
	if p.kind == kindApple && params.Get("user") != "" {
		if err := appleName(pu, params.Get("user")); err != nil {
			return "", internalError("Error getting user profile from external provider", err)
		}
	}
	if len(pu.Emails) == 0 && !flow.EmailOptional {
		return "", internalError("Error getting user email from external provider", errors.New("no e-mail address"))
	}
	settleEmail(pu)

	var (
		resp    *sessionResponse
		authURL string
		failure error
	)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Two callbacks racing with one state: the second waits here, then finds it used.
		var unused bool
		err := tx.QueryRow(ctx, `SELECT true FROM auth.flow_state WHERE id = $1 AND user_id IS NULL FOR UPDATE`, flow.ID).Scan(&unused)
		if errors.Is(err, pgx.ErrNoRows) {
			return badRequest(CodeFlowStateAlreadyUsed, "State has already been used")
		} else if err != nil {
			return internalError("Error loading flow state", err)
		}
		var u *user
		if flow.LinkingTargetID != nil {
			u, failure, err = s.linkIdentity(ctx, tx, *flow.LinkingTargetID, flow.Provider, pu, target, client)
		} else {
			u, failure, err = s.userForExternal(ctx, tx, flow.Provider, pu, flow.EmailOptional, target, client)
		}
		if err != nil || failure != nil {
			return err
		}
		now := s.now()
		if flow.PKCE {
			code := rand.Text()
			tag, err := tx.Exec(ctx, `UPDATE auth.flow_state SET user_id = $2, auth_code = $3, auth_code_issued_at = $4,
					provider_access_token = $5, provider_refresh_token = $6, updated_at = $4
				WHERE id = $1 AND user_id IS NULL`, flow.ID, u.ID, sha256Hex(code), now,
				s.secrets.seal(tok.AccessToken, "provider_token:"+flow.ID), s.secrets.seal(tok.RefreshToken, "provider_refresh_token:"+flow.ID))
			if err != nil {
				return internalError("Error updating flow state", err)
			}
			if tag.RowsAffected() == 0 {
				return badRequest(CodeFlowStateAlreadyUsed, "State has already been used")
			}
			authURL = code
			return nil
		}
		tag, err := tx.Exec(ctx, `DELETE FROM auth.flow_state WHERE id = $1 AND user_id IS NULL`, flow.ID)
		if err != nil {
			return internalError("Error deleting flow state", err)
		}
		if tag.RowsAffected() == 0 {
			return badRequest(CodeFlowStateAlreadyUsed, "State has already been used")
		}
		resp, err = s.startSession(ctx, tx, newSession{User: u, Method: methodOAuth, Provider: flow.Provider, Client: client})
		return err
	})
	if err != nil {
		return "", preserveAppError("Database error granting user", err)
	}
	if failure != nil {
		return "", failure
	}
	if flow.PKCE {
		u, err := url.Parse(target)
		if err != nil {
			return "", internalError("redirect url is improperly formatted", err)
		}
		q := u.Query()
		q.Set("code", authURL)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	extra := url.Values{}
	extra.Set("provider_token", tok.AccessToken)
	if tok.RefreshToken != "" {
		extra.Set("provider_refresh_token", tok.RefreshToken)
	}
	extra.Set("access_token", resp.AccessToken)
	extra.Set("token_type", resp.TokenType)
	extra.Set("expires_in", fmt.Sprint(resp.ExpiresIn))
	extra.Set("expires_at", fmt.Sprint(resp.ExpiresAt))
	extra.Set("refresh_token", resp.RefreshToken)
	extra.Set("sb", "")
	return target + "#" + extra.Encode(), nil
}

// settleEmail records the address GoTrue keeps in identity_data: the primary one, else the
// last one listed.
func settleEmail(pu *providerUser) {
	var email string
	verified := false
	for _, e := range pu.Emails {
		email, verified = e.Email, e.Verified
		if e.Primary {
			break
		}
	}
	if email != "" {
		pu.Claims["email"] = email
	}
	pu.Claims["email_verified"] = verified
	if _, ok := pu.Claims["phone_verified"]; !ok {
		pu.Claims["phone_verified"] = false
	}
}

// openProviderTokens decrypts the provider's tokens kept (sealed) in flow flowID.
func (s *Service) openProviderTokens(flowID string, sealed [2]*string) (access, refresh string) {
	open := func(v *string, binding string) string {
		if v == nil || *v == "" {
			return ""
		}
		plain, err := s.secrets.open(*v, binding+flowID)
		if err != nil {
			return ""
		}
		return plain
	}
	return open(sealed[0], "provider_token:"), open(sealed[1], "provider_refresh_token:")
}
