package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/signingkeys"
)

// signingKeyRoutes are /signing-keys: the asymmetric keys user access tokens are signed
// with. Whoever rotates or revokes them decides which sessions stay valid, so they take
// what API keys take: can_manage_system. The list shows public keys only.
func (s *Service) signingKeyRoutes() []route {
	return []route{
		{method: "GET", path: "/signing-keys", need: access.CanManageSystem, handler: s.listSigningKeys},
		{method: "POST", path: "/signing-keys/rotate", need: access.CanManageSystem, handler: s.rotateSigningKeys},
		{method: "POST", path: "/signing-keys/revoke-previous", need: access.CanManageSystem, handler: s.revokePreviousSigningKeys},
	}
}

// listSigningKeys is GET /signing-keys[?include_revoked=true]: {"signing_keys":[…]}, current
// first.
func (s *Service) listSigningKeys(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	includeRevoked := false
	if raw := r.URL.Query().Get("include_revoked"); raw != "" {
		var err error
		if includeRevoked, err = strconv.ParseBool(raw); err != nil {
			return badRequest(CodeValidationFailed, "include_revoked must be true or false")
		}
	}
	keys, err := signingkeys.List(r.Context(), s.pool, includeRevoked)
	if err != nil {
		return internalError(err)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"signing_keys": keys})
}

// rotateSigningKeys is POST /signing-keys/rotate [{"algorithm": "ES256"|"RS256"}]: standby →
// current → previous and a new standby key; the answer is the rotation. Every node takes
// the new ring at once (NOTIFY).
func (s *Service) rotateSigningKeys(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var body struct {
		Algorithm string `json:"algorithm"`
	}
	if r.ContentLength != 0 {
		if err := httpx.DecodeJSON(r, &body); err != nil {
			return err
		}
	}
	var out signingkeys.Rotation
	err := s.manage.InTx(r.Context(), audit.ClientOf(r), func(tx pgx.Tx) (err error) {
		out, err = signingkeys.Rotate(r.Context(), tx, s.auth.Keys, strings.ToUpper(body.Algorithm), p.Actor(), audit.ClientOf(r))
		return err
	})
	if errors.Is(err, signingkeys.ErrUnknownAlgorithm) {
		return badRequest(CodeValidationFailed, "algorithm must be ES256 or RS256")
	}
	if err != nil {
		return internalError(err)
	}
	s.reloadSigningKeys(r)
	return writeJSON(w, http.StatusOK, out)
}

// revokePreviousSigningKeys is POST /signing-keys/revoke-previous: every previous key is
// revoked, and the tokens they signed are refused on every node. {"revoked":[…]}.
func (s *Service) revokePreviousSigningKeys(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var revoked []signingkeys.Key
	err := s.manage.InTx(r.Context(), audit.ClientOf(r), func(tx pgx.Tx) (err error) {
		revoked, err = signingkeys.RevokePrevious(r.Context(), tx, p.Actor(), audit.ClientOf(r))
		return err
	})
	if err != nil {
		return internalError(err)
	}
	s.reloadSigningKeys(r)
	return writeJSON(w, http.StatusOK, map[string]any{"revoked": revoked})
}

// reloadSigningKeys applies a committed change to this node's ring before answering, so
// that the caller sees it here at once; other nodes reload on the notification. A failure
// is logged: the notification reloads this node too.
func (s *Service) reloadSigningKeys(r *http.Request) {
	ring, err := signingkeys.Load(r.Context(), s.pool, s.auth.Keys)
	if err != nil {
		s.logger.WarnContext(r.Context(), "signing keys changed but not reloaded here yet", "error", err)
		return
	}
	s.auth.Keys.SetKeyRing(ring)
}
