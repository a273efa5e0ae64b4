package realtime

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/security"
)

// channelAuth is who a channel acts as: the verified token it joined with (or refreshed to)
// and when that token expires.
type channelAuth struct {
	principal security.Principal
	exp       time.Time
}

// authError is a join or refresh failure in Supabase's words: "<Code>: <message>" in a join
// reply, the message alone in the system message that closes a joined channel.
type authError struct {
	code    string
	message string
}

func (e *authError) Error() string { return e.code + ": " + e.message }

func expiredError(exp time.Time) *authError {
	return &authError{"InvalidJWTToken", fmt.Sprintf("Token has expired %d seconds ago", int64(time.Since(exp).Seconds()))}
}

// authorize resolves the token a channel presents. An empty token, or an opaque key (sb_…,
// which realtime-js sends on and Supabase ignores, or Go Forward's own gf_pub_…/gf_sec_…),
// means the connection's own apikey.
// Realtime is stricter than the gateway about time: a token is expired from its exp on,
// with no leeway, since the channel is closed at that very moment.
func (s *Service) authorize(token string, fallback security.Principal) (*channelAuth, *authError) {
	principal := fallback
	if token != "" && !isOpaqueKey(token) {
		p, err := s.keys.Verify(token)
		switch {
		case errors.Is(err, security.ErrTokenExpired):
			if exp, ok := unverifiedExpiry(token); ok {
				return nil, expiredError(exp)
			}
			return nil, &authError{"InvalidJWTToken", "Token has expired"}
		case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			return nil, &authError{"InvalidJWTToken", "Fields `role` and `exp` are required in JWT"}
		case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, security.ErrUnknownKeyID):
			// No key for the kid: Realtime cannot build a signer for it either.
			return nil, &authError{"JwtSignatureError", "Failed to validate JWT signature"}
		case err != nil:
			return nil, &authError{"MalformedJWT", "The token provided is not a valid JWT"}
		}
		principal = p
	}
	var claims struct {
		Role string   `json:"role"`
		Exp  *float64 `json:"exp"`
	}
	if err := json.Unmarshal(principal.Claims, &claims); err != nil || claims.Role == "" || claims.Exp == nil {
		return nil, &authError{"InvalidJWTToken", "Fields `role` and `exp` are required in JWT"}
	}
	exp := time.Unix(int64(*claims.Exp), 0)
	if !time.Now().Before(exp) {
		return nil, expiredError(exp)
	}
	switch principal.Role {
	case db.RoleAnon, db.RoleAuthenticated, db.RoleServiceRole:
	default:
		return nil, &authError{"InvalidJWTToken", "The role claim must be anon, authenticated or service_role"}
	}
	return &channelAuth{principal: principal, exp: exp}, nil
}

// isOpaqueKey reports whether token is an API key rather than a JWT: realtime-js sends the
// key it was created with as access_token until a user signs in.
func isOpaqueKey(token string) bool {
	return strings.HasPrefix(token, "sb_") || security.IsAPIKey(token)
}

// unverifiedExpiry reads exp from a token whose signature was checked but which failed on
// time, to say how long ago it expired.
func unverifiedExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 {
		return time.Time{}, false
	}
	return time.Unix(int64(claims.Exp), 0), true
}
