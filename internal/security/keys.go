package security

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLength is the shortest HS256 secret NewKeys accepts, in bytes (256 bits, the
// size of the HMAC-SHA256 output; Supabase requires the same).
const MinSecretLength = 32

// DefaultIssuer is the "iss" of the anon and service-role keys when NewKeys gets an empty
// issuer; Supabase's self-hosted keys use the same value.
const DefaultIssuer = "supabase"

// Leeway is the clock skew tolerated when checking exp, nbf and iat.
const Leeway = 30 * time.Second

// Roles carried by the two static keys.
const (
	RoleAnon        = "anon"
	RoleServiceRole = "service_role"
)

// staticKeyLifetime matches Supabase's generated keys, which are valid for ten years.
const staticKeyLifetime = 10

// Errors returned by Verify. Every Verify error matches exactly one of them with errors.Is;
// the wrapped text says which check failed and is safe to log (it never contains the token).
var (
	ErrTokenExpired = errors.New("token is expired")
	ErrTokenInvalid = errors.New("token is invalid")
)

// ErrLegacyKeyDisabled is wrapped (with ErrTokenInvalid) by Verify's error for a JWT with
// role anon or service_role when WithoutLegacyKeys is set.
var ErrLegacyKeyDisabled = errors.New("legacy JWT API keys are disabled (auth.legacy_keys: false); use a publishable or secret key")

// Keys signs and verifies HS256 JWTs with one secret and holds the anon and service-role
// keys derived from it. It is safe for concurrent use.
type Keys struct {
	secret         []byte
	anonKey        string
	serviceRoleKey string
	// audience, when not empty, must be named by the aud claim of every token Verify
	// accepts other than the two static keys.
	audience string
	parser   *jwt.Parser
	// now is the clock for every time check (time.Now; tests move it).
	now func() time.Time
	// static holds the anon and service-role keys verified once by NewKeys: nearly every
	// request carries one of them, and an HMAC plus a JSON parse per request is the largest
	// cost of the apikey check.
	static []staticKey
	// previous is the secret before the last rotation, nil when there is none.
	previous *previousSecret
	// noLegacy refuses every JWT whose role is anon or service_role.
	noLegacy bool
	// secretKID is the kid of HS256 access tokens signed with secret (secretKeyID).
	secretKID string
	// ring holds the asymmetric signing keys (signing.go); nil or empty: HS256 only.
	ring atomic.Pointer[KeyRing]
	// hsTokens caches verified tokens while there is no ring (tokencache.go).
	hsTokens *tokenCache
}

// previousSecret is a replaced secret: tokens it signed verify until validUntil, and values
// derived from it (auth's MFA secret key) can still be derived, so they can be re-encrypted.
type previousSecret struct {
	secret     []byte
	validUntil time.Time
	kid        string
}

// staticKey is a token verified in full once, with the instant it stops being valid.
type staticKey struct {
	token      string
	principal  Principal
	validUntil time.Time
}

// Option changes how NewKeys verifies tokens.
type Option func(*Keys)

// WithAudience makes Verify require an aud claim naming audience (a string equal to it, or an
// array containing it) on every token except the node's own anon and service-role keys. Those
// carry no aud, and giving them one would change them (they are derived from their claims),
// so they are recognised by comparison instead. An empty audience (the default) checks
// nothing, as GoTrue and PostgREST do without GOTRUE_JWT_AUD / jwt-aud.
func WithAudience(audience string) Option {
	return func(k *Keys) { k.audience = audience }
}

// WithPreviousSecret makes Verify accept tokens signed with secret, the one replaced by the
// last rotation, until validUntil (a grace period, so that sessions and the old anon and
// service-role keys keep working while clients move over). After that only
// SignWithPreviousSecret still uses it, to derive keys that data sealed before the rotation
// needs. A zero validUntil accepts nothing signed with it.
func WithPreviousSecret(secret []byte, validUntil time.Time) Option {
	return func(k *Keys) {
		if len(secret) > 0 {
			k.previous = &previousSecret{secret: append([]byte(nil), secret...), validUntil: validUntil}
		}
	}
}

// WithoutLegacyKeys makes Verify refuse every JWT whose role is anon or service_role: the
// anon and service-role keys (this node's, those of the previous secret, and any minted with
// the secret), wherever they are presented. Opaque API keys take their place.
func WithoutLegacyKeys() Option {
	return func(k *Keys) { k.noLegacy = true }
}

// NewKeys derives the anon and service-role keys from secret: HS256 JWTs with claims
// {"iss": issuer, "role": ..., "iat": issuedAt, "exp": issuedAt + 10 years}. The same secret,
// issuer and issuedAt always give the same keys, which is how a restart keeps them. An empty
// issuer means DefaultIssuer. It refuses secrets shorter than MinSecretLength bytes and a zero
// issuedAt.
func NewKeys(secret []byte, issuer string, issuedAt time.Time, opts ...Option) (*Keys, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("security: jwt secret must be at least %d bytes, got %d", MinSecretLength, len(secret))
	}
	if issuedAt.IsZero() {
		return nil, errors.New("security: keys need the time they were issued at")
	}
	if issuer == "" {
		issuer = DefaultIssuer
	}
	k := &Keys{secret: append([]byte(nil), secret...), now: time.Now, hsTokens: newTokenCache(tokenCacheSize)}
	for _, opt := range opts {
		opt(k)
	}
	var err error
	if k.secretKID, err = secretKeyID(k.secret); err != nil {
		return nil, err
	}
	if k.previous != nil {
		if k.previous.kid, err = secretKeyID(k.previous.secret); err != nil {
			return nil, err
		}
	}
	parserOptions := []jwt.ParserOption{
		// Which key checks a token is decided by keyFor from the alg and the kid together;
		// this list only keeps every other algorithm (and "none") out before it is asked.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg(), AlgES256, AlgRS256}),
		jwt.WithLeeway(Leeway),
		jwt.WithIssuedAt(),
		// A token without exp would be valid forever: a leaked one could never be retired
		// short of changing the secret.
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return k.now() }),
	}
	// The static keys are checked without the audience (they have none) before it is set.
	k.parser = jwt.NewParser(parserOptions...)
	expiresAt := issuedAt.AddDate(staticKeyLifetime, 0, 0)
	staticClaims := func(role string) jwt.MapClaims {
		return jwt.MapClaims{
			"iss":  issuer,
			"role": role,
			"iat":  issuedAt.Unix(),
			"exp":  expiresAt.Unix(),
		}
	}
	if k.anonKey, err = k.Sign(staticClaims(RoleAnon)); err != nil {
		return nil, err
	}
	if k.serviceRoleKey, err = k.Sign(staticClaims(RoleServiceRole)); err != nil {
		return nil, err
	}
	// exp is checked with the same Leeway as the full parse, and only exp: iat only recedes
	// and the keys carry no nbf. A key that fails now (issued in the future, or already
	// expired) is not cached and goes through the full parse every time.
	validUntil := time.Unix(expiresAt.Unix(), 0).Add(Leeway)
	for _, token := range []string{k.anonKey, k.serviceRoleKey} {
		if k.noLegacy {
			break
		}
		if p, _, err := k.verifyToken(token); err == nil {
			k.static = append(k.static, staticKey{token: token, principal: p, validUntil: validUntil})
		}
	}
	if k.audience != "" {
		k.parser = jwt.NewParser(append(parserOptions, jwt.WithAudience(k.audience))...)
	}
	return k, nil
}

// AnonKey returns the public key with role anon that browsers send as apikey.
func (k *Keys) AnonKey() string { return k.anonKey }

// ServiceRoleKey returns the secret key with role service_role, which bypasses row-level
// security. Never log it or send it to a browser.
func (k *Keys) ServiceRoleKey() string { return k.serviceRoleKey }

// LegacyKeysDisabled reports whether WithoutLegacyKeys was given.
func (k *Keys) LegacyKeysDisabled() bool { return k.noLegacy }

// HasPreviousSecret reports whether a secret replaced by a rotation is known
// (WithPreviousSecret), whether or not its grace period is over.
func (k *Keys) HasPreviousSecret() bool { return k.previous != nil }

// PreviousSecretValidUntil is the end of the previous secret's grace period; zero without one.
func (k *Keys) PreviousSecretValidUntil() time.Time {
	if k.previous == nil {
		return time.Time{}
	}
	return k.previous.validUntil
}

// Sign returns claims as an HS256 JWT signed with the secret. The claims are signed as given:
// callers set iss, exp and the rest themselves.
func (k *Keys) Sign(claims jwt.MapClaims) (string, error) {
	return sign(k.secret, claims)
}

// ErrNoPreviousSecret is SignWithPreviousSecret's error when no previous secret is known.
var ErrNoPreviousSecret = errors.New("security: no previous jwt secret")

// SignWithPreviousSecret is Sign with the secret the last rotation replaced, whatever its
// grace period: for deriving the keys that data sealed before the rotation was sealed with
// (the signed token itself must not be handed out; Verify refuses it after the grace period).
func (k *Keys) SignWithPreviousSecret(claims jwt.MapClaims) (string, error) {
	if k.previous == nil {
		return "", ErrNoPreviousSecret
	}
	return sign(k.previous.secret, claims)
}

func sign(secret []byte, claims jwt.MapClaims) (string, error) {
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("security: sign token: %w", err)
	}
	return token, nil
}

// Verify checks token and returns who it speaks for. It accepts HS256 only (alg "none" and
// every other algorithm are rejected, so a token cannot choose how it is checked), requires a
// valid signature and an exp claim, checks exp, nbf and iat with Leeway (nbf and iat when
// present), checks aud when WithAudience was given, and requires a non-empty string "role"
// claim. Errors wrap ErrTokenExpired or ErrTokenInvalid. The anon and
// service-role keys are recognised by a constant-time comparison instead (until they expire),
// with the same result. Within the grace period of WithPreviousSecret, tokens signed with the
// previous secret verify too. With WithoutLegacyKeys, tokens with role anon or service_role
// are refused (ErrTokenInvalid and ErrLegacyKeyDisabled).
//
// Tokens signed by a key of the ring (SetKeyRing) verify by their kid: the kid must name a
// key of the ring and the token's alg must be that key's, so an HS256 token naming an
// asymmetric key, or a token of a revoked key, is refused (ErrUnknownKeyID). HS256 tokens
// are checked with the secret (and the previous one within its grace period), unless
// WithoutLegacyKeys is set and the ring has a current key: then every HS256 token is refused
// (ErrLegacyKeyDisabled). Verified
// tokens are cached: asymmetric ones until they expire, HS256 ones for at most hsCacheTTL
// (tokencache.go).
func (k *Keys) Verify(token string) (Principal, error) {
	if p, ok := k.verifyStatic(token); ok {
		return p, nil
	}
	// A ring's cache goes with the ring, so replacing it (a key revoked on any node) forgets
	// every token verified before.
	cache := k.hsTokens
	if ring := k.ring.Load(); ring != nil && len(ring.byID) > 0 {
		cache = ring.cache
	}
	if p, ok := cache.get(token, k.now()); ok {
		return p, nil
	}
	p, until, err := k.verifyToken(token)
	if err == nil && !until.IsZero() {
		cache.put(token, p, until)
	}
	return p, err
}

// verifyStatic returns a copy of the cached principal when token is one of the static keys
// and they have not expired. The claims are copied so that no caller can change what the
// next request gets.
func (k *Keys) verifyStatic(token string) (Principal, bool) {
	for _, s := range k.static {
		if len(token) != len(s.token) || subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
			continue
		}
		if !k.now().Before(s.validUntil) {
			return Principal{}, false
		}
		p := s.principal
		p.Claims = append(json.RawMessage(nil), s.principal.Claims...)
		return p, true
	}
	return Principal{}, false
}

// verifyToken is Verify without the static-key shortcut and the cache: the full parse. It
// also returns until when the result may be cached: a token signed by a key of the ring
// until its exp plus Leeway; an HS256 token for at most hsCacheTTL, because the previous
// secret's grace period may end before it expires.
func (k *Keys) verifyToken(token string) (Principal, time.Time, error) {
	claims := jwt.MapClaims{}
	asymmetric := false
	parsed, err := k.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		key, err := k.keyFor(t)
		asymmetric = err == nil && t.Method != jwt.SigningMethodHS256
		return key, err
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrTokenExpired, err)
	case err != nil:
		return Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	case !parsed.Valid:
		return Principal{}, time.Time{}, fmt.Errorf("%w: not valid", ErrTokenInvalid)
	}

	role, ok := claims["role"].(string)
	if !ok || role == "" {
		return Principal{}, time.Time{}, fmt.Errorf("%w: role claim must be a non-empty string", ErrTokenInvalid)
	}
	if k.noLegacy && (role == RoleAnon || role == RoleServiceRole) {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrTokenInvalid, ErrLegacyKeyDisabled)
	}
	subject, _ := claims["sub"].(string)
	payload, err := payloadOf(token)
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	var until time.Time
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		until = exp.Add(Leeway)
		if limit := k.now().Add(hsCacheTTL); !asymmetric && limit.Before(until) {
			until = limit
		}
	}
	return Principal{Role: role, Subject: subject, Claims: payload, Token: token}, until, nil
}

// keyFor picks the key that checks t from its alg and kid together. The HS256 secret is only
// ever offered for alg HS256 (and only under its own kid, or none), a ring key only for its
// own algorithm under its own kid: a token cannot choose to be checked with a public key as
// an HMAC secret, or with a key that was revoked.
func (k *Keys) keyFor(t *jwt.Token) (any, error) {
	rawKID, hasKID := t.Header["kid"]
	kid, isString := rawKID.(string)
	if hasKID && !isString {
		return nil, errors.New("kid header must be a string")
	}
	switch t.Method {
	case jwt.SigningMethodHS256:
		ring := k.ring.Load()
		if ring != nil && ring.byID[kid] != nil {
			return nil, fmt.Errorf("alg HS256 does not match the key %s", kid)
		}
		if k.noLegacy && ring != nil && ring.current != nil {
			// Legacy keys off and an asymmetric key signing: the shared secret is retired
			// as a verifier altogether (Supabase's "revoke the legacy JWT secret"), so that
			// whoever holds it cannot mint user tokens either.
			return nil, ErrLegacyKeyDisabled
		}
		prev := k.previous
		prevValid := prev != nil && k.now().Before(prev.validUntil)
		switch {
		case kid == k.secretKID:
			return k.secret, nil
		case prevValid && kid == prev.kid:
			return prev.secret, nil
		case prevValid:
			// No kid, or one minted elsewhere with the secret (tokens made by hand or by
			// other tools): the secret is the only HS256 key, whatever the token calls it.
			return jwt.VerificationKeySet{Keys: []jwt.VerificationKey{k.secret, prev.secret}}, nil
		}
		return k.secret, nil
	case jwt.SigningMethodES256, jwt.SigningMethodRS256:
		ring := k.ring.Load()
		if ring == nil || !hasKID {
			return nil, ErrUnknownKeyID
		}
		rk := ring.byID[kid]
		if rk == nil {
			return nil, ErrUnknownKeyID
		}
		if rk.method != t.Method {
			return nil, fmt.Errorf("alg %v does not match the key %s", t.Header["alg"], kid)
		}
		return rk.public, nil
	}
	return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
}

// payloadOf returns the token's payload segment decoded, byte for byte as it was signed, so
// the claims handed to PostgreSQL are exactly the verified ones.
func payloadOf(token string) ([]byte, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("token must have three segments")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return payload, nil
}
