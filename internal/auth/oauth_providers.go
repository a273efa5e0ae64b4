package auth

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

// Built-in endpoints of the providers with specifics, GoTrue's defaults.
const (
	issuerGoogle       = "https://accounts.google.com"
	issuerApple        = "https://appleid.apple.com"
	issuerAppleAccount = "https://account.apple.com"
	defaultAzureBase   = "https://login.microsoftonline.com/common"
)

var azureIssuerPattern = regexp.MustCompile(`^https://login[.]microsoftonline[.]com/([^/]+)/v2[.]0/?$`)

// providerEmailAddress is one address a provider reports for the user.
type providerEmailAddress struct {
	Email    string
	Verified bool
	Primary  bool
}

// providerUser is who the provider says the user is: the subject, the addresses and the
// identity_data GoTrue would record (its provider.Claims as a map).
type providerUser struct {
	Subject string
	Emails  []providerEmailAddress
	Claims  map[string]any
}

// oauthProvider is one configured external provider.
type oauthProvider struct {
	name, kind  string
	cfg         ExternalProvider
	redirectURI string
	client      *http.Client

	mu        sync.Mutex
	oidc      map[string]*oidc.Provider // by issuer, kept once discovered
	appleJWT  string
	appleExp  time.Time
	appleSign func(now time.Time) (string, error)
}

func newOAuthProviders(cfg Config) (map[string]*oauthProvider, error) {
	out := map[string]*oauthProvider{}
	for name, pc := range cfg.External {
		if !pc.Enabled {
			continue
		}
		p := &oauthProvider{
			name: name, kind: kindOf(name), cfg: pc, redirectURI: pc.RedirectURI,
			client: &http.Client{Timeout: 10 * time.Second}, oidc: map[string]*oidc.Provider{},
		}
		if p.redirectURI == "" {
			p.redirectURI = strings.TrimRight(cfg.ExternalURL, "/") + Prefix + "/callback"
		}
		if p.kind == kindApple && pc.Secret == "" {
			sign, err := appleSecretSigner(pc)
			if err != nil {
				return nil, fmt.Errorf("auth: external provider %s: %w", name, err)
			}
			p.appleSign = sign
		}
		out[name] = p
	}
	return out, nil
}

// ctx makes the oauth2 and oidc libraries use the provider's HTTP client.
func (p *oauthProvider) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, p.client)
}

// baseURL is cfg.URL without a trailing slash, or def.
func (p *oauthProvider) baseURL(def string) string {
	if p.cfg.URL != "" {
		return strings.TrimRight(p.cfg.URL, "/")
	}
	return def
}

// issuer is the OpenID Connect issuer the provider's id_tokens come from; "" for Azure's
// multi-tenant endpoints, whose issuer is the user's tenant.
func (p *oauthProvider) issuer() string {
	if p.cfg.Issuer != "" {
		return strings.TrimRight(p.cfg.Issuer, "/")
	}
	switch p.kind {
	case kindGoogle:
		return issuerGoogle
	case kindApple:
		return issuerApple
	case kindAzure:
		if p.cfg.URL == "" {
			return ""
		}
		iss := p.baseURL("") + "/v2.0"
		if m := azureIssuerPattern.FindStringSubmatch(iss); m == nil || m[1] == "common" || m[1] == "organizations" {
			return ""
		}
		return iss
	}
	return ""
}

// discover returns the issuer's provider metadata and keys, fetched once and kept.
func (p *oauthProvider) discover(ctx context.Context, issuer string) (*oidc.Provider, error) {
	p.mu.Lock()
	op := p.oidc[issuer]
	p.mu.Unlock()
	if op != nil {
		return op, nil
	}
	dctx := p.ctx(ctx)
	if p.kind == kindApple {
		// Apple's id_tokens name either of its two issuers.
		dctx = oidc.InsecureIssuerURLContext(dctx, issuer)
	}
	op, err := oidc.NewProvider(dctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", issuer, err)
	}
	p.mu.Lock()
	p.oidc[issuer] = op
	p.mu.Unlock()
	return op, nil
}

// usesIDToken tells whether the user comes from an id_token rather than a user-info API.
func (p *oauthProvider) usesIDToken() bool {
	switch p.kind {
	case kindGitHub, kindGitLab, kindDiscord:
		return false
	}
	return true
}

// config is the oauth2 configuration with the default scopes plus the request's (GoTrue
// splits them on commas; a space-separated list passes through whole).
func (p *oauthProvider) config(ctx context.Context, scopes string) (*oauth2.Config, error) {
	c := &oauth2.Config{ClientID: p.cfg.ClientID[0], ClientSecret: p.cfg.Secret, RedirectURL: p.redirectURI}
	switch p.kind {
	case kindGitHub:
		base := p.baseURL("https://github.com")
		c.Endpoint = oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token"}
		c.Scopes = []string{"user:email"}
	case kindGitLab:
		base := p.baseURL("https://gitlab.com")
		c.Endpoint = oauth2.Endpoint{AuthURL: base + "/oauth/authorize", TokenURL: base + "/oauth/token"}
		c.Scopes = []string{"read_user"}
	case kindDiscord:
		base := p.baseURL("https://discord.com") + "/api"
		c.Endpoint = oauth2.Endpoint{AuthURL: base + "/oauth2/authorize", TokenURL: base + "/oauth2/token"}
		c.Scopes = []string{"email", "identify"}
	case kindAzure:
		base := p.baseURL(defaultAzureBase)
		c.Endpoint = oauth2.Endpoint{AuthURL: base + "/oauth2/v2.0/authorize", TokenURL: base + "/oauth2/v2.0/token"}
		c.Scopes = []string{"openid"}
	default:
		op, err := p.discover(ctx, p.issuer())
		if err != nil {
			return nil, err
		}
		c.Endpoint = op.Endpoint()
		switch p.kind {
		case kindGoogle:
			c.Scopes = []string{"email", "profile"}
		case kindApple:
			c.Scopes = []string{"email", "name"}
			c.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		default:
			c.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
		}
	}
	c.Scopes = append(c.Scopes, p.cfg.Scopes...)
	if scopes != "" {
		c.Scopes = append(c.Scopes, strings.Split(scopes, ",")...)
	}
	return c, nil
}

// exchange trades the provider's code for its tokens.
func (p *oauthProvider) exchange(ctx context.Context, code string) (*oauth2.Token, error) {
	c, err := p.config(ctx, "")
	if err != nil {
		return nil, err
	}
	if p.appleSign != nil {
		if c.ClientSecret, err = p.appleSecret(); err != nil {
			return nil, err
		}
	}
	return c.Exchange(p.ctx(ctx), code)
}

// userData asks the provider who signed in: from the id_token for OpenID Connect providers
// (checked against nonce), from its user API for the others.
func (p *oauthProvider) userData(ctx context.Context, tok *oauth2.Token, nonce string) (*providerUser, error) {
	if p.usesIDToken() {
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			return nil, errors.New("the provider returned no id_token")
		}
		idt, pu, err := p.verifyIDToken(ctx, raw)
		if err != nil {
			return nil, err
		}
		if !audienceMatches(idt.Audience, p.cfg.ClientID[:1]) {
			return nil, fmt.Errorf("unacceptable audience in id_token: %v", idt.Audience)
		}
		if nonce != "" && !constantTimeEqual(idt.Nonce, nonce) {
			return nil, errors.New("the id_token's nonce is not the one sent")
		}
		if idt.AccessTokenHash != "" {
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				return nil, err
			}
		}
		return pu, nil
	}
	c, err := p.config(ctx, "")
	if err != nil {
		return nil, err
	}
	hc := c.Client(p.ctx(ctx), tok)
	switch p.kind {
	case kindGitHub:
		return githubUser(ctx, hc, p.githubAPI())
	case kindGitLab:
		return gitlabUser(ctx, hc, p.baseURL("https://gitlab.com"))
	default:
		return discordUser(ctx, hc, p.baseURL("https://discord.com")+"/api")
	}
}

func (p *oauthProvider) githubAPI() string {
	if p.cfg.URL == "" {
		return "https://api.github.com"
	}
	return p.baseURL("") + "/api/v3"
}

// verifyIDToken checks raw's signature (the issuer's published keys), issuer and expiry,
// and maps its claims as GoTrue does for the provider. The caller checks the audience.
func (p *oauthProvider) verifyIDToken(ctx context.Context, raw string) (*oidc.IDToken, *providerUser, error) {
	issuer := p.issuer()
	if issuer == "" { // Azure's common endpoint: the tenant's issuer, named by the token
		iss, err := unverifiedIssuer(raw)
		if err != nil {
			return nil, nil, err
		}
		if !azureIssuerPattern.MatchString(iss) {
			return nil, nil, fmt.Errorf("id_token issuer %q is not Azure's", iss)
		}
		issuer = iss
	}
	op, err := p.discover(ctx, issuer)
	if err != nil {
		return nil, nil, err
	}
	v := op.Verifier(&oidc.Config{SkipClientIDCheck: true, SkipIssuerCheck: p.kind == kindApple})
	idt, err := v.Verify(p.ctx(ctx), raw)
	if err != nil {
		return nil, nil, err
	}
	if p.kind == kindApple && idt.Issuer != issuer && idt.Issuer != issuerApple && idt.Issuer != issuerAppleAccount {
		return nil, nil, fmt.Errorf("id_token issuer %q is not Apple's", idt.Issuer)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, nil, err
	}
	pu := mapIDToken(p.kind, idt, claims)
	return idt, pu, nil
}

func audienceMatches(got, accepted []string) bool {
	for _, a := range accepted {
		for _, g := range got {
			if a != "" && constantTimeEqual(a, g) {
				return true
			}
		}
	}
	return false
}

// unverifiedIssuer reads iss from a JWT without checking it, to know whose keys check it.
func unverifiedIssuer(raw string) (string, error) {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &claims); err != nil {
		return "", fmt.Errorf("malformed id_token: %w", err)
	}
	return claims.Issuer, nil
}

// getJSON fetches url with the provider's token into v.
func getJSON(ctx context.Context, hc *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.Unmarshal(body, v)
}

// appleSecretSigner returns a function signing Apple's client secret (an ES256 JWT).
func appleSecretSigner(pc ExternalProvider) (func(time.Time) (string, error), error) {
	block, _ := pem.Decode([]byte(pc.ApplePrivateKey))
	if block == nil {
		return nil, errors.New("ApplePrivateKey is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ApplePrivateKey: %w", err)
	}
	return func(now time.Time) (string, error) {
		t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
			Issuer: pc.AppleTeamID, Subject: pc.ClientID[0], Audience: jwt.ClaimStrings{issuerApple},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		})
		t.Header["kid"] = pc.AppleKeyID
		return t.SignedString(key)
	}, nil
}

// appleSecret is the current signed client secret, renewed ten minutes before it expires.
func (p *oauthProvider) appleSecret() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.appleJWT != "" && now.Before(p.appleExp.Add(-10*time.Minute)) {
		return p.appleJWT, nil
	}
	s, err := p.appleSign(now)
	if err != nil {
		return "", err
	}
	p.appleJWT, p.appleExp = s, now.Add(time.Hour)
	return s, nil
}

// itoa renders provider ids that arrive as JSON numbers.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
