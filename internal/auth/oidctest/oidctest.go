// Package oidctest is a small OAuth 2.0 / OpenID Connect provider for tests, served over
// HTTP on loopback: discovery, a JWKS, the authorization code flow with PKCE (S256 and
// plain), client authentication by secret, id_tokens signed with a fresh RS256 key, and
// Bearer-protected user APIs in the shapes of GitHub, GitLab and Discord. It checks what a
// real provider checks (client, redirect URI, code single use and expiry, PKCE verifier,
// access token), so a test that passes against it exercises the server's real requests.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// User is who signs in at the provider's authorization endpoint.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	// Claims are added to the id_token (they override the ones above).
	Claims map[string]any
	// API holds the documents the user APIs answer, by path (e.g. "/api/v3/user").
	API map[string]any
}

// Provider is a running provider. Its fields may be set before the flow they affect.
type Provider struct {
	URL          string // base URL, e.g. http://127.0.0.1:41234
	ClientID     string
	ClientSecret string

	server *httptest.Server
	key    *rsa.PrivateKey
	kid    string

	mu      sync.Mutex
	user    User
	issuer  string
	codes   map[string]*grant
	tokens  map[string]User
	secrets []string
	// Requests counts every request served and Busy the time spent serving them (in
	// nanoseconds), for measuring the provider's share of a flow.
	Requests atomic.Int64
	Busy     atomic.Int64
}

type grant struct {
	user                     User
	clientID, redirectURI    string
	nonce, challenge, method string
	expires                  time.Time
}

// Start runs a provider on 127.0.0.1 for client id and secret; Close stops it.
func Start(clientID, clientSecret string) (*Provider, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, key: key, kid: rand.Text()[:8],
		codes: map[string]*grant{}, tokens: map[string]User{}}
	p.server = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.server.URL
	return p, nil
}

// ClientSecrets are the client secrets presented at the token endpoint so far (with an
// empty ClientSecret any is accepted, as for Apple's signed ones).
func (p *Provider) ClientSecrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.secrets...)
}

// SetClientSecret changes the secret the token endpoint requires ("": any).
func (p *Provider) SetClientSecret(secret string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ClientSecret = secret
}

// Close stops the provider.
func (p *Provider) Close() { p.server.Close() }

// SetUser chooses who signs in next.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// SetIssuer sets the iss of id_tokens (default: URL), e.g. an Azure tenant's URL + "/v2.0".
func (p *Provider) SetIssuer(iss string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.issuer = iss
}

func (p *Provider) currentIssuer() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.issuer != "" {
		return p.issuer
	}
	return p.URL
}

func (p *Provider) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { p.Busy.Add(int64(time.Since(start))) }()
	p.Requests.Add(1)
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/.well-known/openid-configuration"):
		p.discovery(w, strings.TrimSuffix(path, "/.well-known/openid-configuration"))
	case strings.HasSuffix(path, "/jwks"):
		p.jwks(w)
	case strings.HasSuffix(path, "/authorize"):
		p.authorize(w, r)
	case strings.HasSuffix(path, "/token") || strings.HasSuffix(path, "/access_token"):
		p.token(w, r)
	default:
		p.api(w, r)
	}
}

func (p *Provider) discovery(w http.ResponseWriter, prefix string) {
	iss := p.URL + prefix
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"jwks_uri":                              iss + "/jwks",
		"userinfo_endpoint":                     iss + "/userinfo",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256", "plain"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: "RS256", Use: "sig"}}}
	writeJSON(w, http.StatusOK, set)
}

// authorize signs the current user in at once (there is no login page) and sends the
// browser back with a code, by redirect or, for response_mode=form_post, by an HTML form.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.ClientID {
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	if _, err := url.Parse(redirect); err != nil || redirect == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" {
		http.Error(w, "unsupported response_type", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	p.mu.Lock()
	u := p.user
	if hint := q.Get("login_hint"); hint != "" {
		// A test that cannot reach SetUser (another process) names the user instead:
		// an address the provider has verified.
		u = User{Subject: "sub-" + hint, Email: hint, EmailVerified: true, Name: "Hint " + hint}
	}
	p.codes[code] = &grant{user: u, clientID: p.ClientID, redirectURI: redirect, nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"), expires: time.Now().Add(time.Minute)}
	p.mu.Unlock()
	if q.Get("response_mode") == "form_post" {
		fields := map[string]string{"code": code, "state": q.Get("state")}
		if u.Name != "" {
			first, last, _ := strings.Cut(u.Name, " ")
			b, _ := json.Marshal(map[string]any{"name": map[string]string{"firstName": first, "lastName": last}, "email": u.Email})
			fields["user"] = string(b)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form method="post" action="%s">`, html.EscapeString(redirect))
		for k, v := range fields {
			fmt.Fprintf(w, `<input type="hidden" name="%s" value="%s">`, k, html.EscapeString(v))
		}
		fmt.Fprint(w, `</form>`)
		return
	}
	back, _ := url.Parse(redirect)
	rq := back.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	back.RawQuery = rq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	p.secrets = append(p.secrets, secret)
	want := p.ClientSecret
	p.mu.Unlock()
	if id != p.ClientID || (want != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	g := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	p.mu.Unlock()
	switch {
	case g == nil || time.Now().After(g.expires):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	case g.redirectURI != r.PostForm.Get("redirect_uri"):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
		return
	case g.challenge != "" && !verifierMatches(g, r.PostForm.Get("code_verifier")):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "code_verifier mismatch"})
		return
	}
	access := rand.Text()
	p.mu.Lock()
	p.tokens[access] = g.user
	p.mu.Unlock()
	idToken, err := p.IDToken(g.user, g.clientID, g.nonce, time.Hour)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600,
		"refresh_token": "rt-" + rand.Text(), "id_token": idToken})
}

func verifierMatches(g *grant, verifier string) bool {
	want := verifier
	if strings.EqualFold(g.method, "S256") {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(g.challenge)) == 1
}

// IDToken signs an id_token for u, as the token endpoint does; tests of grant_type=id_token
// use it the way a native app uses the token its platform's sign-in gives it.
func (p *Provider) IDToken(u User, audience, nonce string, ttl time.Duration) (string, error) {
	now := time.Now()
	claims := jwt.MapClaims{"iss": p.currentIssuer(), "sub": u.Subject, "aud": audience,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	if u.Email != "" {
		claims["email"] = u.Email
		claims["email_verified"] = u.EmailVerified
	}
	if u.Name != "" {
		claims["name"] = u.Name
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	for k, v := range u.Claims {
		claims[k] = v
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = p.kid
	return t.SignedString(p.key)
}

// api answers the user APIs with the signed-in user's documents, for a valid access token.
func (p *Provider) api(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	u, known := p.tokens[token]
	p.mu.Unlock()
	if !ok || !known {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	doc, found := u.API[r.URL.Path]
	if !found {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
