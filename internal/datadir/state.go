package datadir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// State is what a first start generates and every later start reuses, so that keys handed to
// clients keep working across restarts.
type State struct {
	// JWTSecret signs the anon and service-role keys and user tokens, unless the
	// configuration supplies its own secret.
	JWTSecret string `json:"jwt_secret"`
	// KeysIssuedAt is the iat of the anon and service-role keys; with the secret it determines
	// the keys exactly.
	KeysIssuedAt int64 `json:"keys_issued_at"`
	// PreviousJWTSecret is the secret `goforward keys rotate-jwt-secret` replaced: tokens it
	// signed (sessions' access tokens, the old anon and service-role keys) are accepted until
	// PreviousJWTSecretValidUntil, and TOTP secrets sealed with a key derived from it can still
	// be opened and re-sealed. Empty when the secret was never rotated.
	PreviousJWTSecret string `json:"previous_jwt_secret,omitempty"`
	// PreviousJWTSecretValidUntil ends the grace period of PreviousJWTSecret (Unix seconds).
	PreviousJWTSecretValidUntil int64 `json:"previous_jwt_secret_valid_until,omitempty"`
	// SigningKeyAlgorithm, set when this file is first written (ES256), makes serve give a
	// database that has never had a signing key a generated current and standby key of this
	// algorithm, so that a new data directory signs user access tokens asymmetrically as new
	// Supabase projects do. A data directory from before it keeps HS256 until the operator
	// runs goforward keys rotate-signing-key.
	SigningKeyAlgorithm string `json:"signing_key_algorithm,omitempty"`
	// AuthenticatorPassword is the password of the authenticator login role of the managed
	// cluster.
	AuthenticatorPassword string `json:"authenticator_password"`
}

// LoadOrCreateState reads state.json, creating it with fresh secrets on first start. Missing
// fields of an older file are filled in and saved.
func (d Dir) LoadOrCreateState() (State, error) {
	var st State
	err := readJSONFile(d.statePath(), &st)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return State{}, err
	}
	changed := false
	if errors.Is(err, fs.ErrNotExist) {
		st.SigningKeyAlgorithm = "ES256"
		changed = true
	}
	if st.JWTSecret == "" {
		if st.JWTSecret, err = randomHex(32); err != nil {
			return State{}, err
		}
		changed = true
	}
	if st.KeysIssuedAt == 0 {
		st.KeysIssuedAt = time.Now().Unix()
		changed = true
	}
	if st.AuthenticatorPassword == "" {
		if st.AuthenticatorPassword, err = randomHex(24); err != nil {
			return State{}, err
		}
		changed = true
	}
	if changed {
		if err := writeJSONFile(d.statePath(), st); err != nil {
			return State{}, fmt.Errorf("save state: %w", err)
		}
	}
	return st, nil
}

// SaveState replaces state.json with st.
func (d Dir) SaveState(st State) error {
	if err := writeJSONFile(d.statePath(), st); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// RotateJWTSecret replaces the JWT secret in state.json with a fresh one and keeps the old
// one as PreviousJWTSecret until now+grace; the anon and service-role keys are issued anew
// (KeysIssuedAt = now). A secret from a rotation before is forgotten. It returns the new
// state; a running server takes it at its next start.
func (d Dir) RotateJWTSecret(now time.Time, grace time.Duration) (State, error) {
	st, err := d.LoadOrCreateState()
	if err != nil {
		return State{}, err
	}
	fresh, err := randomHex(32)
	if err != nil {
		return State{}, err
	}
	st.PreviousJWTSecret, st.PreviousJWTSecretValidUntil = st.JWTSecret, now.Add(grace).Unix()
	st.JWTSecret, st.KeysIssuedAt = fresh, now.Unix()
	if err := d.SaveState(st); err != nil {
		return State{}, err
	}
	return st, nil
}

// LoadState reads state.json without creating it.
func (d Dir) LoadState() (State, error) {
	var st State
	if err := readJSONFile(d.statePath(), &st); err != nil {
		return State{}, err
	}
	return st, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}
