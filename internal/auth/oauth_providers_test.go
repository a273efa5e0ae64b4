package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/auth/oidctest"
)

// Each provider with specifics signs in against the loopback provider serving that
// provider's endpoints and user documents; the identity must hold what GoTrue records.
func TestProviderSpecifics(t *testing.T) {
	appleKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(appleKey)
	require.NoError(t, err)
	applePEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))

	e := newOAuthEnv(t, func(c *auth.Config, idp *oidctest.Provider) {
		p := func(extra auth.ExternalProvider) auth.ExternalProvider {
			extra.Enabled, extra.ClientID = true, []string{oauthClientID}
			if extra.Secret == "" && extra.AppleKeyID == "" {
				extra.Secret = oauthSecret
			}
			return extra
		}
		c.External["github"] = p(auth.ExternalProvider{URL: idp.URL})
		c.External["gitlab"] = p(auth.ExternalProvider{URL: idp.URL})
		c.External["discord"] = p(auth.ExternalProvider{URL: idp.URL})
		c.External["google"] = p(auth.ExternalProvider{Issuer: idp.URL})
		c.External["azure"] = p(auth.ExternalProvider{URL: idp.URL + "/tenant-1", Issuer: idp.URL + "/tenant-1/v2.0"})
		c.External["apple"] = p(auth.ExternalProvider{Issuer: idp.URL, AppleTeamID: "TEAM1", AppleKeyID: "KEY1", ApplePrivateKey: applePEM})
	})

	cases := []struct {
		provider string
		user     func(email string) oidctest.User
		issuer   string
		want     func(email string) map[string]any
		secret   func(t *testing.T, got string)
	}{{
		provider: "github",
		user: func(email string) oidctest.User {
			return oidctest.User{API: map[string]any{
				"/api/v3/user": map[string]any{"id": 42, "login": "octo", "name": "Octo Cat", "avatar_url": "https://avatars.test/42"},
				"/api/v3/user/emails": []any{
					map[string]any{"email": "old-" + email, "primary": false, "verified": true},
					map[string]any{"email": email, "primary": true, "verified": true},
				},
			}}
		},
		want: func(email string) map[string]any {
			return map[string]any{"iss": e.idp.URL + "/api/v3", "sub": "42", "name": "Octo Cat", "preferred_username": "octo",
				"avatar_url": "https://avatars.test/42", "full_name": "Octo Cat", "provider_id": "42", "user_name": "octo",
				"email": email, "email_verified": true, "phone_verified": false}
		},
	}, {
		provider: "gitlab",
		user: func(email string) oidctest.User {
			return oidctest.User{API: map[string]any{
				"/api/v4/user":        map[string]any{"id": 7, "email": email, "name": "Tan", "avatar_url": "https://gl.test/7", "confirmed_at": "2024-01-01T00:00:00Z"},
				"/api/v4/user/emails": []any{map[string]any{"id": 1, "email": "second-" + email}},
			}}
		},
		want: func(email string) map[string]any {
			return map[string]any{"iss": e.idp.URL, "sub": "7", "name": "Tan", "picture": "https://gl.test/7",
				"avatar_url": "https://gl.test/7", "full_name": "Tan", "provider_id": "7",
				"email": email, "email_verified": true, "phone_verified": false}
		},
	}, {
		provider: "discord",
		user: func(email string) oidctest.User {
			return oidctest.User{API: map[string]any{"/api/users/@me": map[string]any{
				"id": "80351110224678912", "username": "nelly", "discriminator": "1337", "global_name": "Nelly",
				"avatar": "a_8342729096ea3675442027381ff50dfe", "email": email, "verified": true}}}
		},
		want: func(email string) map[string]any {
			pic := "https://cdn.discordapp.com/avatars/80351110224678912/a_8342729096ea3675442027381ff50dfe.gif"
			return map[string]any{"iss": e.idp.URL + "/api", "sub": "80351110224678912", "name": "nelly#1337",
				"picture": pic, "avatar_url": pic, "full_name": "nelly", "provider_id": "80351110224678912",
				"custom_claims": map[string]any{"global_name": "Nelly"},
				"email":         email, "email_verified": true, "phone_verified": false}
		},
	}, {
		provider: "google",
		user: func(email string) oidctest.User {
			return oidctest.User{Subject: "1098", Email: email, EmailVerified: true, Name: "Gee",
				Claims: map[string]any{"picture": "https://lh.test/p", "hd": "example.com"}}
		},
		want: func(email string) map[string]any {
			return map[string]any{"iss": e.idp.URL, "sub": "1098", "name": "Gee", "picture": "https://lh.test/p",
				"avatar_url": "https://lh.test/p", "full_name": "Gee", "provider_id": "1098",
				"custom_claims": map[string]any{"hd": "example.com"},
				"email":         email, "email_verified": true, "phone_verified": false}
		},
	}, {
		provider: "azure",
		issuer:   "/tenant-1/v2.0",
		user: func(email string) oidctest.User {
			return oidctest.User{Subject: "az-1", Email: email, Name: "Az Ure",
				Claims: map[string]any{"preferred_username": "az@corp.test", "xms_edov": "1", "tid": "tenant-1", "email_verified": nil}}
		},
		want: func(email string) map[string]any {
			return map[string]any{"iss": e.idp.URL + "/tenant-1/v2.0", "sub": "az-1", "provider_id": "az-1",
				"preferred_username": "az@corp.test", "full_name": "Az Ure",
				"custom_claims": map[string]any{"email": email, "email_verified": nil, "xms_edov": "1", "tid": "tenant-1"},
				"email":         email, "email_verified": true, "phone_verified": false}
		},
	}, {
		provider: "apple",
		user: func(email string) oidctest.User {
			return oidctest.User{Subject: "001234.apple", Email: email, Name: "Ada Lovelace",
				Claims: map[string]any{"is_private_email": "true", "email_verified": nil}}
		},
		want: func(email string) map[string]any {
			return map[string]any{"iss": e.idp.URL, "sub": "001234.apple", "provider_id": "001234.apple",
				"custom_claims": map[string]any{"is_private_email": true},
				"name":          "Ada Lovelace", "full_name": "Ada Lovelace",
				"email": email, "email_verified": true, "phone_verified": false}
		},
		secret: func(t *testing.T, got string) {
			claims := jwt.MapClaims{}
			_, err := jwt.ParseWithClaims(got, claims, func(*jwt.Token) (any, error) { return &appleKey.PublicKey, nil },
				jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience("https://appleid.apple.com"), jwt.WithIssuer("TEAM1"), jwt.WithSubject(oauthClientID))
			require.NoError(t, err, "Apple's client secret is a JWT signed with the team's key")
		},
	}}
	for _, tc := range cases {
		t.Run(tc.provider, func(t *testing.T) {
			email := emailFor(t, tc.provider)
			e.idp.SetIssuer(e.idp.URL + tc.issuer)
			if tc.secret != nil {
				e.idp.SetClientSecret("") // checked below instead
				defer e.idp.SetClientSecret(oauthSecret)
			}
			e.idp.SetUser(tc.user(email))
			loc, status := e.browse(t, authorizePath(tc.provider, nil))
			require.Equal(t, http.StatusFound, status)
			token := fragmentOf(t, loc).Get("access_token")
			require.NotEmpty(t, token, "redirect %s", loc)
			s, body := e.call(t, "GET", "/auth/v1/user", nil, token)
			require.Equal(t, http.StatusOK, s)
			require.Equal(t, email, body["email"])
			require.NotEmpty(t, body["email_confirmed_at"])
			ids := body["identities"].([]any)
			require.Len(t, ids, 1)
			id := ids[0].(map[string]any)
			require.Equal(t, tc.provider, id["provider"])
			require.Equal(t, tc.want(email), id["identity_data"])
			if tc.secret != nil {
				secrets := e.idp.ClientSecrets()
				tc.secret(t, secrets[len(secrets)-1])
			}
		})
	}
}
