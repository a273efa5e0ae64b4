package security

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms of asymmetric signing keys, as JWTs name them. HS256 (the shared secret) is
// not one: it is Keys' own secret and never published.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// Statuses of a signing key in the ring, Supabase's lifecycle: a standby key is published
// before it signs (so that clients caching the JWKS know it when it starts), the current key
// signs user access tokens, previous keys only verify (tokens they signed stay valid until
// they expire). A revoked key is not in the ring at all.
const (
	KeyStandby  = "standby"
	KeyCurrent  = "current"
	KeyPrevious = "previous"
)

// minRSABits is the smallest RSA modulus NewKeyRing accepts.
const minRSABits = 2048

// ErrUnknownKeyID is wrapped (with ErrTokenInvalid) by Verify's error for a token whose kid
// names no key of the ring: never published, or revoked.
var ErrUnknownKeyID = errors.New("token signed by an unknown or revoked key (kid)")

// SigningKey is one asymmetric key of the ring. Private is needed only for the current key
// (an *ecdsa.PrivateKey for ES256, an *rsa.PrivateKey for RS256); Public is required.
type SigningKey struct {
	ID        string
	Algorithm string
	Status    string
	Public    crypto.PublicKey
	Private   crypto.Signer
}

// KeyRing is an immutable set of asymmetric keys that Keys verifies with (by kid) and whose
// current key signs user access tokens. A new ring replaces the old one whole (SetKeyRing),
// which also empties the verified-token cache, so that a revoked key's tokens are refused at
// once.
type KeyRing struct {
	byID    map[string]*ringKey
	current *ringKey
	jwks    []byte
	cache   *tokenCache
}

type ringKey struct {
	id      string
	method  jwt.SigningMethod
	public  any
	private any
}

// NewKeyRing checks keys and builds a ring from them. At most one key may be current, and
// it must have its private key. An empty list gives an empty ring (HS256 signs).
func NewKeyRing(keys []SigningKey) (*KeyRing, error) {
	r := &KeyRing{byID: map[string]*ringKey{}, cache: newTokenCache(tokenCacheSize)}
	jwks := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		if k.ID == "" {
			return nil, errors.New("security: signing key without an id")
		}
		if _, dup := r.byID[k.ID]; dup {
			return nil, fmt.Errorf("security: signing key %s twice", k.ID)
		}
		rk := &ringKey{id: k.ID}
		jwk := map[string]any{"kid": k.ID, "alg": k.Algorithm, "use": "sig", "key_ops": []string{"verify"}, "ext": true}
		switch k.Algorithm {
		case AlgES256:
			pub, ok := k.Public.(*ecdsa.PublicKey)
			if !ok || pub.Curve != elliptic.P256() {
				return nil, fmt.Errorf("security: signing key %s: ES256 needs a P-256 public key", k.ID)
			}
			point, err := pub.ECDH()
			if err != nil {
				return nil, fmt.Errorf("security: signing key %s: %w", k.ID, err)
			}
			raw := point.Bytes() // 0x04 || X || Y
			jwk["kty"], jwk["crv"] = "EC", "P-256"
			jwk["x"] = base64.RawURLEncoding.EncodeToString(raw[1:33])
			jwk["y"] = base64.RawURLEncoding.EncodeToString(raw[33:])
			rk.method, rk.public = jwt.SigningMethodES256, pub
			if k.Private != nil {
				priv, ok := k.Private.(*ecdsa.PrivateKey)
				if !ok || !priv.PublicKey.Equal(pub) {
					return nil, fmt.Errorf("security: signing key %s: private key does not match", k.ID)
				}
				rk.private = priv
			}
		case AlgRS256:
			pub, ok := k.Public.(*rsa.PublicKey)
			if !ok || pub.N.BitLen() < minRSABits {
				return nil, fmt.Errorf("security: signing key %s: RS256 needs an RSA public key of at least %d bits", k.ID, minRSABits)
			}
			jwk["kty"] = "RSA"
			jwk["n"] = base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
			jwk["e"] = base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
			rk.method, rk.public = jwt.SigningMethodRS256, pub
			if k.Private != nil {
				priv, ok := k.Private.(*rsa.PrivateKey)
				if !ok || !priv.PublicKey.Equal(pub) {
					return nil, fmt.Errorf("security: signing key %s: private key does not match", k.ID)
				}
				rk.private = priv
			}
		default:
			return nil, fmt.Errorf("security: signing key %s: algorithm %q is not ES256 or RS256", k.ID, k.Algorithm)
		}
		switch k.Status {
		case KeyCurrent:
			if r.current != nil {
				return nil, errors.New("security: more than one current signing key")
			}
			if rk.private == nil {
				return nil, fmt.Errorf("security: current signing key %s has no private key", k.ID)
			}
			r.current = rk
		case KeyStandby, KeyPrevious:
		default:
			return nil, fmt.Errorf("security: signing key %s: unknown status %q", k.ID, k.Status)
		}
		r.byID[k.ID] = rk
		jwks = append(jwks, jwk)
	}
	// Current first, so that a client reading the set by eye sees the signing key on top.
	slices.SortStableFunc(jwks, func(a, b map[string]any) int {
		ac, bc := r.current != nil && a["kid"] == r.current.id, r.current != nil && b["kid"] == r.current.id
		switch {
		case ac && !bc:
			return -1
		case bc && !ac:
			return 1
		}
		return 0
	})
	var err error
	if r.jwks, err = json.Marshal(map[string]any{"keys": jwks}); err != nil {
		return nil, err
	}
	return r, nil
}

// JWKS is the ring's public keys as a JSON Web Key Set (Keys.JWKS serves it).
func (r *KeyRing) JWKS() []byte { return r.jwks }

// CurrentKeyID is the kid of the key that signs user access tokens, "" when HS256 does.
func (r *KeyRing) CurrentKeyID() string {
	if r == nil || r.current == nil {
		return ""
	}
	return r.current.id
}

// SetKeyRing makes ring the asymmetric keys Verify accepts and SignAccessToken signs with,
// replacing the previous ring (and its verified-token cache). nil removes every asymmetric
// key: HS256 signs again.
func (k *Keys) SetKeyRing(ring *KeyRing) { k.ring.Store(ring) }

// KeyRing returns the ring set by SetKeyRing, nil without one.
func (k *Keys) KeyRing() *KeyRing { return k.ring.Load() }

// JWKS is the body of GET /.well-known/jwks.json: {"keys": [...]} with the public part of
// every key of the ring (current, standby, previous), never the HS256 secret; {"keys": []}
// without a ring.
func (k *Keys) JWKS() []byte {
	if r := k.ring.Load(); r != nil {
		return r.jwks
	}
	return []byte(`{"keys":[]}`)
}

// SignAccessToken signs a user's access token: with the ring's current key (ES256 or RS256,
// its id in kid) when there is one, else HS256 with the secret, whose kid is derived from
// the secret (HMAC, so it tells nothing about it). Sign, without kid, stays for the legacy
// static keys and the keys derived from the secret.
func (k *Keys) SignAccessToken(claims jwt.MapClaims) (string, error) {
	if r := k.ring.Load(); r != nil && r.current != nil {
		t := jwt.NewWithClaims(r.current.method, claims)
		t.Header["kid"] = r.current.id
		token, err := t.SignedString(r.current.private)
		if err != nil {
			return "", fmt.Errorf("security: sign token: %w", err)
		}
		return token, nil
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = k.secretKID
	token, err := t.SignedString(k.secret)
	if err != nil {
		return "", fmt.Errorf("security: sign token: %w", err)
	}
	return token, nil
}

// secretKeyID derives the kid of an HS256 secret: the first 12 bytes of an HMAC of a fixed
// statement, so that tokens name which secret (current or previous) signed them without
// revealing anything about it.
func secretKeyID(secret []byte) (string, error) {
	token, err := sign(secret, jwt.MapClaims{"purpose": "goforward.jwt.kid.v1"})
	if err != nil {
		return "", err
	}
	sig := token[len(token)-43:] // 32 bytes of HMAC, base64url without padding
	return sig[:16], nil
}
