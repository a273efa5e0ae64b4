package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// standardClaims are the id_token claims GoTrue's provider.Claims keeps for a generic
// OpenID Connect provider.
var standardClaims = []string{"iss", "sub", "aud", "iat", "exp", "name", "family_name", "given_name",
	"middle_name", "nickname", "preferred_username", "profile", "picture", "website", "gender",
	"birthdate", "zoneinfo", "locale", "updated_at", "email", "phone", "phone_verified"}

// azureDroppedClaims are the token-mechanics claims GoTrue leaves out of Azure's
// custom_claims.
var azureDroppedClaims = []string{"aud", "iss", "iat", "nbf", "exp", "c_hash", "at_hash", "aio",
	"nonce", "rh", "uti", "jti", "ver", "sub", "name", "preferred_username"}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// truthy reads the boolean claims providers send as true, "true" or "1".
func truthy(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true" || b == "1"
	}
	return false
}

// putNonEmpty sets m[k] to v unless v is "" (GoTrue's omitempty).
func putNonEmpty(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// mapIDToken turns a verified id_token into the user, as GoTrue's parse*IDToken do.
func mapIDToken(kind string, idt *oidc.IDToken, c map[string]any) *providerUser {
	pu := &providerUser{Subject: idt.Subject, Claims: map[string]any{}}
	d := pu.Claims
	putNonEmpty(d, "iss", idt.Issuer)
	putNonEmpty(d, "sub", idt.Subject)
	email := str(c, "email")
	switch kind {
	case kindGoogle:
		verified := truthy(c["email_verified"]) || truthy(c["verified_email"])
		if email != "" {
			pu.Emails = []providerEmailAddress{{Email: email, Verified: verified, Primary: true}}
		}
		putNonEmpty(d, "name", str(c, "name"))
		putNonEmpty(d, "picture", str(c, "picture"))
		putNonEmpty(d, "avatar_url", str(c, "picture"))
		putNonEmpty(d, "full_name", str(c, "name"))
		putNonEmpty(d, "provider_id", idt.Subject)
		if hd := str(c, "hd"); hd != "" {
			d["custom_claims"] = map[string]any{"hd": hd}
		}
	case kindAzure:
		verified := email != ""
		if edov, ok := c["xms_edov"]; ok {
			verified = email != "" && truthy(edov)
		}
		if email != "" {
			pu.Emails = []providerEmailAddress{{Email: email, Verified: verified, Primary: true}}
		}
		putNonEmpty(d, "provider_id", idt.Subject)
		putNonEmpty(d, "preferred_username", str(c, "preferred_username"))
		putNonEmpty(d, "full_name", str(c, "name"))
		custom := map[string]any{}
		for k, v := range c {
			custom[k] = v
		}
		for _, k := range azureDroppedClaims {
			delete(custom, k)
		}
		if len(custom) > 0 {
			d["custom_claims"] = custom
		}
	case kindApple:
		// Apple only hands out addresses it has verified (or its private relay).
		pu.Emails = []providerEmailAddress{{Email: email, Verified: true, Primary: true}}
		putNonEmpty(d, "provider_id", idt.Subject)
		custom := map[string]any{}
		if v, ok := c["is_private_email"]; ok {
			custom["is_private_email"] = truthy(v)
		}
		if v, ok := c["auth_time"]; ok {
			custom["auth_time"] = v
		}
		if v := str(c, "transfer_sub"); v != "" {
			custom["transfer_sub"] = v
		}
		if len(custom) > 0 {
			d["custom_claims"] = custom
		}
	default:
		for _, k := range standardClaims {
			if v, ok := c[k]; ok && v != "" && v != nil {
				d[k] = v
			}
		}
		if email != "" {
			pu.Emails = []providerEmailAddress{{Email: email, Verified: truthy(c["email_verified"]), Primary: true}}
		}
	}
	return pu
}

// appleName adds the name Apple posts (as JSON in the form's user field) on the first
// sign-in only.
func appleName(pu *providerUser, raw string) error {
	var u struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if err := json.Unmarshal([]byte(raw), &u); err != nil {
		return err
	}
	name := strings.TrimSpace(u.Name.FirstName + " " + u.Name.LastName)
	putNonEmpty(pu.Claims, "name", name)
	putNonEmpty(pu.Claims, "full_name", name)
	return nil
}

func githubUser(ctx context.Context, hc *http.Client, api string) (*providerUser, error) {
	var u struct {
		ID        int64  `json:"id"`
		Login     string `json:"login"`
		Name      string `json:"name"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := getJSON(ctx, hc, api+"/user", &u); err != nil {
		return nil, err
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := getJSON(ctx, hc, api+"/user/emails", &emails); err != nil {
		return nil, err
	}
	id := itoa(u.ID)
	pu := &providerUser{Subject: id, Claims: map[string]any{"iss": api, "sub": id}}
	putNonEmpty(pu.Claims, "name", u.Name)
	putNonEmpty(pu.Claims, "preferred_username", u.Login)
	putNonEmpty(pu.Claims, "avatar_url", u.AvatarURL)
	putNonEmpty(pu.Claims, "full_name", u.Name)
	putNonEmpty(pu.Claims, "provider_id", id)
	putNonEmpty(pu.Claims, "user_name", u.Login)
	for _, e := range emails {
		if e.Email != "" {
			pu.Emails = append(pu.Emails, providerEmailAddress{Email: e.Email, Verified: e.Verified, Primary: e.Primary})
		}
	}
	return pu, nil
}

func gitlabUser(ctx context.Context, hc *http.Client, base string) (*providerUser, error) {
	var u struct {
		ID          int64  `json:"id"`
		Email       string `json:"email"`
		Name        string `json:"name"`
		AvatarURL   string `json:"avatar_url"`
		ConfirmedAt string `json:"confirmed_at"`
	}
	if err := getJSON(ctx, hc, base+"/api/v4/user", &u); err != nil {
		return nil, err
	}
	var emails []struct {
		Email string `json:"email"`
	}
	if err := getJSON(ctx, hc, base+"/api/v4/user/emails", &emails); err != nil {
		return nil, err
	}
	id := itoa(u.ID)
	pu := &providerUser{Subject: id, Claims: map[string]any{"iss": base, "sub": id}}
	// GitLab does not say whether its additional addresses are confirmed.
	for _, e := range emails {
		if e.Email != "" {
			pu.Emails = append(pu.Emails, providerEmailAddress{Email: e.Email})
		}
	}
	if u.Email != "" {
		pu.Emails = append(pu.Emails, providerEmailAddress{Email: u.Email, Verified: u.ConfirmedAt != "", Primary: true})
	}
	putNonEmpty(pu.Claims, "name", u.Name)
	putNonEmpty(pu.Claims, "picture", u.AvatarURL)
	putNonEmpty(pu.Claims, "avatar_url", u.AvatarURL)
	putNonEmpty(pu.Claims, "full_name", u.Name)
	putNonEmpty(pu.Claims, "provider_id", id)
	return pu, nil
}

func discordUser(ctx context.Context, hc *http.Client, api string) (*providerUser, error) {
	var u struct {
		ID            string `json:"id"`
		Username      string `json:"username"`
		GlobalName    string `json:"global_name"`
		Discriminator string `json:"discriminator"`
		Avatar        string `json:"avatar"`
		Email         string `json:"email"`
		Verified      bool   `json:"verified"`
	}
	if err := getJSON(ctx, hc, api+"/users/@me", &u); err != nil {
		return nil, err
	}
	pu := &providerUser{Subject: u.ID, Claims: map[string]any{"iss": api, "sub": u.ID}}
	if u.Email != "" {
		pu.Emails = []providerEmailAddress{{Email: u.Email, Verified: u.Verified, Primary: true}}
	}
	var avatar string
	if u.Avatar == "" {
		var n int
		if _, err := fmt.Sscanf(u.Discriminator, "%d", &n); err != nil {
			return nil, fmt.Errorf("discord discriminator %q: %w", u.Discriminator, err)
		}
		avatar = fmt.Sprintf("https://cdn.discordapp.com/embed/avatars/%d.png", n%5)
	} else {
		ext := "png"
		if strings.HasPrefix(u.Avatar, "a_") {
			ext = "gif"
		}
		avatar = fmt.Sprintf("https://cdn.discordapp.com/avatars/%s/%s.%s", u.ID, u.Avatar, ext)
	}
	pu.Claims["name"] = fmt.Sprintf("%v#%v", u.Username, u.Discriminator)
	pu.Claims["picture"] = avatar
	pu.Claims["custom_claims"] = map[string]any{"global_name": u.GlobalName}
	pu.Claims["avatar_url"] = avatar
	putNonEmpty(pu.Claims, "full_name", u.Username)
	putNonEmpty(pu.Claims, "provider_id", u.ID)
	return pu, nil
}
