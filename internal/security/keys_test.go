package security_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/security"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef")
	otherKey   = []byte("fedcba9876543210fedcba9876543210")
	fixedTime  = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

func newKeys(t *testing.T) *security.Keys {
	t.Helper()
	k, err := security.NewKeys(testSecret, "", time.Now())
	require.NoError(t, err)
	return k
}

func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	return claims
}

func TestNewKeysIsDeterministic(t *testing.T) {
	t.Parallel()
	issuedAt := fixedTime

	a, err := security.NewKeys(testSecret, "supabase", issuedAt)
	require.NoError(t, err)
	b, err := security.NewKeys(append([]byte(nil), testSecret...), "supabase", issuedAt)
	require.NoError(t, err)
	require.Equal(t, a.AnonKey(), b.AnonKey())
	require.Equal(t, a.ServiceRoleKey(), b.ServiceRoleKey())
	require.NotEqual(t, a.AnonKey(), a.ServiceRoleKey())

	later, err := security.NewKeys(testSecret, "supabase", issuedAt.Add(time.Second))
	require.NoError(t, err)
	require.NotEqual(t, a.AnonKey(), later.AnonKey())

	other, err := security.NewKeys(otherKey, "supabase", issuedAt)
	require.NoError(t, err)
	require.NotEqual(t, a.AnonKey(), other.AnonKey())
}

func TestStaticKeyClaims(t *testing.T) {
	t.Parallel()
	issuedAt := fixedTime
	k, err := security.NewKeys(testSecret, "", issuedAt)
	require.NoError(t, err)

	for key, role := range map[string]string{k.AnonKey(): "anon", k.ServiceRoleKey(): "service_role"} {
		claims := payload(t, key)
		require.Equal(t, map[string]any{
			"iss":  "supabase",
			"role": role,
			"iat":  float64(issuedAt.Unix()),
			"exp":  float64(issuedAt.AddDate(10, 0, 0).Unix()),
		}, claims)
	}
}

func TestStaticKeysVerify(t *testing.T) {
	t.Parallel()
	k := newKeys(t)

	anon, err := k.Verify(k.AnonKey())
	require.NoError(t, err)
	require.Equal(t, "anon", anon.Role)
	require.Empty(t, anon.Subject)
	require.Equal(t, k.AnonKey(), anon.Token)

	service, err := k.Verify(k.ServiceRoleKey())
	require.NoError(t, err)
	require.Equal(t, "service_role", service.Role)
}

func TestNewKeysRefusesWeakInput(t *testing.T) {
	t.Parallel()
	_, err := security.NewKeys([]byte("too-short-secret"), "", time.Now())
	require.ErrorContains(t, err, "at least 32 bytes")
	_, err = security.NewKeys(testSecret, "", time.Time{})
	require.Error(t, err)
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	now := time.Now()
	token, err := k.Sign(jwt.MapClaims{
		"sub":           "9b4e7a1c-0000-4000-8000-000000000001",
		"role":          "authenticated",
		"aud":           "authenticated",
		"email":         "ada@example.com",
		"exp":           now.Add(time.Hour).Unix(),
		"iat":           now.Unix(),
		"user_metadata": map[string]any{"name": "Ada"},
	})
	require.NoError(t, err)

	p, err := k.Verify(token)
	require.NoError(t, err)
	require.Equal(t, "authenticated", p.Role)
	require.Equal(t, "9b4e7a1c-0000-4000-8000-000000000001", p.Subject)
	require.Equal(t, token, p.Token)

	// The claims are the signed payload byte for byte.
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	require.NoError(t, err)
	require.Equal(t, string(raw), string(p.Claims))
}

// unsignedToken builds a token with an arbitrary header and payload and a given signature.
func unsignedToken(header, claims map[string]any, signature string) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + signature
}

func TestVerifyRejections(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	now := time.Now()
	valid := jwt.MapClaims{"role": "authenticated", "sub": "u1", "exp": now.Add(time.Hour).Unix()}
	with := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{}
		for key, v := range valid {
			c[key] = v
		}
		for key, v := range extra {
			if v == nil {
				delete(c, key)
				continue
			}
			c[key] = v
		}
		return c
	}
	signWith := func(method jwt.SigningMethod, key []byte, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		require.NoError(t, err)
		return s
	}
	sign := func(claims jwt.MapClaims) string { return signWith(jwt.SigningMethodHS256, testSecret, claims) }

	goodToken := sign(valid)
	goodParts := strings.Split(goodToken, ".")
	tamperedClaims, _ := json.Marshal(map[string]any{"role": "service_role", "sub": "u1", "exp": now.Add(time.Hour).Unix()})

	noneToken, err := jwt.NewWithClaims(jwt.SigningMethodNone, valid).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"wrong secret", signWith(jwt.SigningMethodHS256, otherKey, valid), security.ErrTokenInvalid},
		{"alg none", noneToken, security.ErrTokenInvalid},
		{"alg none with a signature", unsignedToken(map[string]any{"alg": "none", "typ": "JWT"}, valid, goodParts[2]), security.ErrTokenInvalid},
		{"HS384 with the same secret", signWith(jwt.SigningMethodHS384, testSecret, valid), security.ErrTokenInvalid},
		{"HS512 with the same secret", signWith(jwt.SigningMethodHS512, testSecret, valid), security.ErrTokenInvalid},
		{"RS256 header over an HMAC signature", unsignedToken(map[string]any{"alg": "RS256", "typ": "JWT"}, valid, goodParts[2]), security.ErrTokenInvalid},
		{"tampered payload", goodParts[0] + "." + base64.RawURLEncoding.EncodeToString(tamperedClaims) + "." + goodParts[2], security.ErrTokenInvalid},
		{"stripped signature", goodParts[0] + "." + goodParts[1] + ".", security.ErrTokenInvalid},
		{"expired", sign(with(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), security.ErrTokenExpired},
		{"expired beyond leeway", sign(with(jwt.MapClaims{"exp": now.Add(-2 * security.Leeway).Unix()})), security.ErrTokenExpired},
		{"not valid yet", sign(with(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()})), security.ErrTokenInvalid},
		{"issued in the future", sign(with(jwt.MapClaims{"iat": now.Add(time.Hour).Unix()})), security.ErrTokenInvalid},
		{"exp of the wrong type", sign(with(jwt.MapClaims{"exp": "tomorrow"})), security.ErrTokenInvalid},
		{"no exp", sign(with(jwt.MapClaims{"exp": nil})), security.ErrTokenInvalid},
		{"exp null", unsignedToken(map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"role": "anon", "exp": nil}, ""), security.ErrTokenInvalid},
		{"no role", sign(with(jwt.MapClaims{"role": nil})), security.ErrTokenInvalid},
		{"empty role", sign(with(jwt.MapClaims{"role": ""})), security.ErrTokenInvalid},
		{"role not a string", sign(with(jwt.MapClaims{"role": 7})), security.ErrTokenInvalid},
		{"empty", "", security.ErrTokenInvalid},
		{"not a jwt", "definitely-not-a-token", security.ErrTokenInvalid},
		{"bad base64", "a.b.c", security.ErrTokenInvalid},
		{"four segments", goodToken + ".x", security.ErrTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := k.Verify(tt.token)
			require.ErrorIs(t, err, tt.want)
			other := security.ErrTokenInvalid
			if tt.want == security.ErrTokenInvalid {
				other = security.ErrTokenExpired
			}
			require.False(t, errors.Is(err, other), "an error matches exactly one sentinel")
			require.Equal(t, security.Principal{}, p)
			if tt.token != "" {
				require.NotContains(t, err.Error(), tt.token, "errors never echo the token")
			}
		})
	}
}

func TestVerifyToleratesSmallClockSkew(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	now := time.Now()
	for name, claims := range map[string]jwt.MapClaims{
		"just expired":       {"role": "anon", "exp": now.Add(-security.Leeway / 3).Unix()},
		"nbf slightly ahead": {"role": "anon", "nbf": now.Add(security.Leeway / 3).Unix(), "exp": now.Add(time.Hour).Unix()},
		"iat slightly ahead": {"role": "anon", "iat": now.Add(security.Leeway / 3).Unix(), "exp": now.Add(time.Hour).Unix()},
	} {
		token, err := k.Sign(claims)
		require.NoError(t, err)
		_, err = k.Verify(token)
		require.NoError(t, err, name)
	}
}

func TestVerifyRequiresExp(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	forever, err := k.Sign(jwt.MapClaims{"role": "service_role"})
	require.NoError(t, err)
	_, err = k.Verify(forever)
	require.ErrorIs(t, err, security.ErrTokenInvalid, "a token without exp would never expire")
	require.ErrorIs(t, err, jwt.ErrTokenRequiredClaimMissing)
	require.False(t, errors.Is(err, security.ErrTokenExpired))
}

func TestVerifyChecksTheAudienceWhenConfigured(t *testing.T) {
	t.Parallel()
	k, err := security.NewKeys(testSecret, "", time.Now(), security.WithAudience("authenticated"))
	require.NoError(t, err)
	exp := time.Now().Add(time.Hour).Unix()
	for name, tc := range map[string]struct {
		aud any
		ok  bool
	}{
		"matching string":          {"authenticated", true},
		"array containing it":      {[]string{"other", "authenticated"}, true},
		"another audience":         {"https://other.example", false},
		"array without it":         {[]string{"other"}, false},
		"no aud":                   {nil, false},
		"empty string":             {"", false},
		"same letters, other case": {"Authenticated", false},
	} {
		claims := jwt.MapClaims{"role": "authenticated", "sub": "u1", "exp": exp}
		if tc.aud != nil {
			claims["aud"] = tc.aud
		}
		token, err := k.Sign(claims)
		require.NoError(t, err)
		_, err = k.Verify(token)
		if tc.ok {
			require.NoError(t, err, name)
			continue
		}
		require.ErrorIs(t, err, security.ErrTokenInvalid, name)
		require.False(t, errors.Is(err, security.ErrTokenExpired), name)
	}

	// The node's own keys carry no aud and still work: they are the node's, byte for byte.
	for _, key := range []string{k.AnonKey(), k.ServiceRoleKey()} {
		_, err := k.Verify(key)
		require.NoError(t, err)
	}
	plain := newKeys(t)

	// Without the option nothing about aud is checked.
	token, err := plain.Sign(jwt.MapClaims{"role": "authenticated", "aud": "anything", "exp": exp})
	require.NoError(t, err)
	_, err = plain.Verify(token)
	require.NoError(t, err)
}

func TestAudienceLeavesTheStaticKeysUnchanged(t *testing.T) {
	t.Parallel()
	plain, err := security.NewKeys(testSecret, "", fixedTime)
	require.NoError(t, err)
	withAud, err := security.NewKeys(testSecret, "", fixedTime, security.WithAudience("authenticated"))
	require.NoError(t, err)
	require.Equal(t, plain.AnonKey(), withAud.AnonKey(), "existing anon keys keep working when an audience is set")
	require.Equal(t, plain.ServiceRoleKey(), withAud.ServiceRoleKey())
}
