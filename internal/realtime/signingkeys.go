package realtime

import (
	"context"
	"errors"

	"github.com/gorilla/websocket"

	"github.com/goforward/goforward/internal/security"
)

// RingWatcher is what realtime needs of the signing-key ring's watcher
// (*signingkeys.Watcher).
type RingWatcher interface {
	// OnReload runs fn after every change to the ring.
	OnReload(fn func())
}

// closeRevokedSigningKeys ends what was authorised by a token that no longer verifies now
// that the ring changed (its signing key was revoked): a channel joined with such a
// token gets Realtime's system message and phx_close, as when its token expires; a socket
// opened with one is closed. A revocation must not leave a stream open until the token
// expires.
func (s *Service) closeRevokedSigningKeys() {
	refused := func(token string) bool {
		if token == "" || isOpaqueKey(token) {
			return false
		}
		// Expiry has its own timer (and message); anything else that fails now is a key
		// that no longer verifies the token.
		_, err := s.keys.Verify(token)
		return err != nil && !errors.Is(err, security.ErrTokenExpired)
	}
	s.connsMu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connsMu.Unlock()
	for _, c := range conns {
		if refused(c.principal.Token) {
			c.close(websocket.ClosePolicyViolation, "JWT signing key revoked")
			continue
		}
		c.mu.Lock()
		channels := make([]*channel, 0, len(c.channels))
		for _, ch := range c.channels {
			channels = append(channels, ch)
		}
		c.mu.Unlock()
		for _, ch := range channels {
			if auth := ch.auth.Load(); auth != nil && refused(auth.principal.Token) {
				ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
				c.shutdown(ctx, ch, "Failed to validate JWT signature")
				cancel()
			}
		}
	}
}
