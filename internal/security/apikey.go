package security

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Prefixes of Go Forward's opaque API keys, the counterparts of Supabase's sb_publishable_ and
// sb_secret_ keys. A key is its prefix and 43 base62 characters (256 random bits).
const (
	PublishableKeyPrefix = "gf_pub_"
	SecretKeyPrefix      = "gf_sec_"
)

// Kinds of API key.
const (
	// KindPublishable keys act as the anon role, like the legacy anon key.
	KindPublishable = "publishable"
	// KindSecret keys act as service_role, limited to their scope.
	KindSecret = "secret"
)

// apiKeyRandomChars is how many base62 characters carry a key's 256 random bits
// (62^43 > 2^256).
const apiKeyRandomChars = 43

// base62 digits: letters and digits only, so a key is selected whole by a double click and
// needs no escaping in a URL or a header.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// IsAPIKey reports whether token has the form of an opaque API key (it may still be unknown,
// revoked or expired). JWTs never do: they start with a base64url JSON header.
func IsAPIKey(token string) bool {
	return strings.HasPrefix(token, PublishableKeyPrefix) || strings.HasPrefix(token, SecretKeyPrefix)
}

// GenerateAPIKey returns a new random key of kind: its prefix and 256 bits from crypto/rand
// in base62.
func GenerateAPIKey(kind string) (string, error) {
	prefix, err := keyPrefixOf(kind)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("security: generate api key: %w", err)
	}
	var n big.Int
	n.SetBytes(raw)
	digits := make([]byte, apiKeyRandomChars)
	base, mod := big.NewInt(62), new(big.Int)
	for i := apiKeyRandomChars - 1; i >= 0; i-- {
		n.DivMod(&n, base, mod)
		digits[i] = base62[mod.Int64()]
	}
	return prefix + string(digits), nil
}

func keyPrefixOf(kind string) (string, error) {
	switch kind {
	case KindPublishable:
		return PublishableKeyPrefix, nil
	case KindSecret:
		return SecretKeyPrefix, nil
	}
	return "", fmt.Errorf("security: unknown api key kind %q: use publishable or secret", kind)
}

// HashAPIKey is what is stored of a key: its SHA-256. A key holds 256 random bits, so no
// slow hash is needed to make guessing it from the hash hopeless.
func HashAPIKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// APIKeyShownPrefix is the part of a key that lists show to tell keys apart: the kind's prefix
// and 6 characters (36 of its 256 bits).
func APIKeyShownPrefix(key string) string {
	n := len(SecretKeyPrefix) + 6
	if len(key) < n {
		return key
	}
	return key[:n]
}

// KeyScope limits what an API key reaches. An empty list means no limit of that kind.
type KeyScope struct {
	// Services the key may call, by the gateway's service names (auth, rest, realtime,
	// storage, admin, meta) and "metrics" for /metrics.
	Services []string `json:"services,omitempty"`
	// Tables lists what REST may reach with the key: "schema.name" (a table, view or, under
	// /rpc, a function) or "schema.*" for all of a schema. Embedded tables, and the junction
	// of a many-to-many embedding, must be listed too.
	Tables []string `json:"tables,omitempty"`
}

// TableBlindServices reach every table whatever a key's table list says (/admin/v1 and /pg
// run SQL and read any table; realtime streams any table's changes), so a key limited to
// some tables is kept out of them.
var TableBlindServices = []string{"admin", "meta", "realtime"}

// AllowsService reports whether the key may be used with the named service. A key limited to
// some tables never reaches TableBlindServices.
func (s KeyScope) AllowsService(name string) bool {
	if len(s.Tables) > 0 && slices.Contains(TableBlindServices, name) {
		return false
	}
	return len(s.Services) == 0 || slices.Contains(s.Services, name)
}

// LimitsTables reports whether the scope names the tables REST may reach.
func (s KeyScope) LimitsTables() bool { return len(s.Tables) > 0 }

// AllowsTable reports whether REST may reach schema.name with the key.
func (s KeyScope) AllowsTable(schema, name string) bool {
	if len(s.Tables) == 0 {
		return true
	}
	return slices.Contains(s.Tables, schema+"."+name) || slices.Contains(s.Tables, schema+".*")
}

// Covers reports whether s allows everything other allows: a key can only hand out a key no
// wider than itself.
func (s KeyScope) Covers(other KeyScope) bool {
	if len(s.Services) > 0 {
		if len(other.Services) == 0 {
			return false
		}
		for _, svc := range other.Services {
			if !s.AllowsService(svc) {
				return false
			}
		}
	}
	if len(s.Tables) > 0 {
		if len(other.Tables) == 0 {
			return false
		}
		for _, t := range other.Tables {
			schema, name, _ := strings.Cut(t, ".")
			if !s.AllowsTable(schema, name) {
				return false
			}
		}
	}
	return true
}

// APIKeyGrant is what an opaque API key stands for. The gateway attaches it to the request's
// Principal; REST reads its table scope.
type APIKeyGrant struct {
	ID        string
	Name      string
	Kind      string // KindPublishable or KindSecret
	Scope     KeyScope
	ExpiresAt time.Time // zero: never
}
