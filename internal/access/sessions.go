package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TokenPrefix starts every admin session token, so that a token is told from a JWT (the
// service-role key) without parsing it, and secret scanners can recognise a leaked one.
const TokenPrefix = "gfa_"

// Session is one admin session as stored. Its tokens are never stored, only their hashes.
type Session struct {
	ID           string       `json:"id"`
	UserID       string       `json:"user_id,omitempty"`
	Email        string       `json:"email,omitempty"` // the admin's address, read with the session
	Kind         Kind         `json:"kind"`
	Level        Level        `json:"level"`
	Capabilities Capabilities `json:"capabilities"`
	MFAVerified  bool         `json:"mfa_verified"`
	IP           string       `json:"ip,omitempty"`
	UserAgent    string       `json:"user_agent"`
	Reason       string       `json:"reason,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	LastActiveAt time.Time    `json:"last_active_at"`
	ExpiresAt    time.Time    `json:"expires_at"`
	RevokedAt    *time.Time   `json:"revoked_at,omitempty"`
}

// SessionConfig bounds admin sessions.
type SessionConfig struct {
	// IdleTimeout ends a session this long after its last request.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after it was opened, however active.
	MaxAge time.Duration
}

// Querier is what sessions are read and written through: a pool, or a transaction when the
// change must commit together with something else (an audit entry, an admin's new level).
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Sessions stores admin sessions in goforward.admin_sessions.
type Sessions struct {
	cfg SessionConfig
	now func() time.Time
}

// NewSessions returns the session store. now nil means time.Now.
func NewSessions(cfg SessionConfig, now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{cfg: cfg, now: now}
}

// Config is the store's configuration.
func (s *Sessions) Config() SessionConfig { return s.cfg }

// NewSession describes a session to open.
type NewSession struct {
	UserID       string // "" for emergency access
	Kind         Kind   // KindAdmin or KindEmergency
	Level        Level
	Capabilities Capabilities
	MFAVerified  bool
	IP           netip.Addr
	UserAgent    string
	Reason       string
	// Lifetime overrides the configured MaxAge (emergency access); 0 keeps it.
	Lifetime time.Duration
}

// Opened is a new session with its secrets; the token exists only in this answer.
type Opened struct {
	Session
	Token string // the bearer token (TokenPrefix…)
	CSRF  string // the CSRF token a cookie session must echo in X-CSRF-Token
}

// ErrSessionInvalid is returned for a token that names no live session: unknown, revoked,
// idle too long or past its absolute expiry. The cases are not told apart.
var ErrSessionInvalid = errors.New("access: the admin session is invalid or has expired")

// Create opens a session through q (a transaction, when the caller also audits it).
func (s *Sessions) Create(ctx context.Context, q Querier, n NewSession) (Opened, error) {
	token, tokenHash, err := NewToken(TokenPrefix)
	if err != nil {
		return Opened{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	life := n.Lifetime
	if life <= 0 {
		life = s.cfg.MaxAge
	}
	caps, err := json.Marshal(n.Capabilities)
	if err != nil {
		return Opened{}, err
	}
	var userID, ip any
	if n.UserID != "" {
		userID = n.UserID
	}
	if n.IP.IsValid() {
		ip = n.IP.Unmap().WithZone("").String()
	}
	sess := Session{
		ID: uuid.NewString(), UserID: n.UserID, Kind: n.Kind, Level: n.Level, Capabilities: n.Capabilities,
		MFAVerified: n.MFAVerified, UserAgent: n.UserAgent, Reason: n.Reason,
		CreatedAt: now, LastActiveAt: now, ExpiresAt: now.Add(life),
	}
	if ip != nil {
		sess.IP = ip.(string)
	}
	kind := "password"
	if n.Kind == KindEmergency {
		kind = "emergency"
	}
	_, err = q.Exec(ctx, `INSERT INTO goforward.admin_sessions
  (id, token_hash, user_id, kind, level, capabilities, mfa_verified, ip, user_agent, reason,
   created_at, last_active_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)`,
		sess.ID, tokenHash, userID, kind, string(n.Level), caps, n.MFAVerified, ip, n.UserAgent, n.Reason,
		now, sess.ExpiresAt)
	if err != nil {
		return Opened{}, fmt.Errorf("access: open session: %w", err)
	}
	return Opened{Session: sess, Token: token, CSRF: CSRFToken(token)}, nil
}

// touchEvery is how stale last_active_at may get before a request writes it again: writing
// on every request would turn every admin read into a write, and idle expiry only needs
// minutes.
const touchEvery = 30 * time.Second

// Authenticate returns the live session whose token this is, and records the activity. It
// fails with ErrSessionInvalid for anything else. The admin behind a password session must
// still hold the session's level: revoking or changing an admin revokes its sessions, and
// this check holds even for a session that revocation raced with. The tables and user groups
// a session is limited to are the admin's current ones, not the copy taken at sign-in, so
// that narrowing an admin's assignment narrows its open sessions at once.
func (s *Sessions) Authenticate(ctx context.Context, q Querier, token string) (Session, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return Session{}, ErrSessionInvalid
	}
	now := s.now()
	row := q.QueryRow(ctx, `SELECT `+sessionColumns+`, a.assigned_tables, a.assigned_groups
FROM goforward.admin_sessions s
LEFT JOIN auth.users u ON u.id = s.user_id
LEFT JOIN goforward.admins a ON a.user_id = s.user_id
WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
  AND (s.kind = 'emergency' OR (a.revoked_at IS NULL AND a.level = s.level))`, hashSecret(token), now)
	var tables, groups []string
	sess, err := scanSession(row, &tables, &groups)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, ErrSessionInvalid
	}
	if err != nil {
		return Session{}, fmt.Errorf("access: read session: %w", err)
	}
	if sess.Kind == KindAdmin {
		sess.Capabilities.AssignedTables, sess.Capabilities.AssignedGroups = nonNil(tables), nonNil(groups)
	}
	if sess.Kind == KindAdmin && now.Sub(sess.LastActiveAt) > s.cfg.IdleTimeout {
		return Session{}, ErrSessionInvalid
	}
	if now.Sub(sess.LastActiveAt) > touchEvery {
		if _, err := q.Exec(ctx, `UPDATE goforward.admin_sessions SET last_active_at = $2 WHERE id = $1`, sess.ID, now); err != nil {
			return Session{}, fmt.Errorf("access: record session activity: %w", err)
		}
		sess.LastActiveAt = now
	}
	return sess, nil
}

// CSRFToken is the CSRF token of the session whose token this is: derived from it one way,
// so the dashboard can be told it again (GET /me through the cookie) without storing it, and
// a leaked CSRF token reveals nothing of the session token.
func CSRFToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("goforward admin csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// csrfMatches reports, in constant time, whether csrf is the CSRF token of sessionToken.
func csrfMatches(sessionToken, csrf string) bool {
	return csrf != "" && subtle.ConstantTimeCompare([]byte(CSRFToken(sessionToken)), []byte(csrf)) == 1
}

// Get returns the live session id (whatever the kind), or ErrSessionInvalid. It does not
// touch the session's activity.
func (s *Sessions) Get(ctx context.Context, q Querier, id string) (Session, error) {
	if !isUUID(id) {
		return Session{}, ErrSessionInvalid
	}
	row := q.QueryRow(ctx, `SELECT `+sessionColumns+`
FROM goforward.admin_sessions s
LEFT JOIN auth.users u ON u.id = s.user_id
WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
  AND (s.kind = 'emergency' OR s.last_active_at > $3)`, id, s.now(), s.now().Add(-s.cfg.IdleTimeout))
	sess, err := scanSession(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, ErrSessionInvalid
	}
	if err != nil {
		return Session{}, fmt.Errorf("access: read session: %w", err)
	}
	return sess, nil
}

// Revoke ends one session. It reports whether a live session was ended.
func (s *Sessions) Revoke(ctx context.Context, q Querier, id, reason string) (bool, error) {
	if !isUUID(id) {
		return false, nil // names no session; not worth a database error
	}
	tag, err := q.Exec(ctx, `UPDATE goforward.admin_sessions SET revoked_at = $2, revoked_reason = $3
WHERE id = $1 AND revoked_at IS NULL`, id, s.now(), reason)
	if err != nil {
		return false, fmt.Errorf("access: revoke session: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// RevokeUser ends every live session of the user and returns how many it ended. Call it in
// the transaction that revokes or changes the admin.
func (s *Sessions) RevokeUser(ctx context.Context, q Querier, userID, reason string) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE goforward.admin_sessions SET revoked_at = $2, revoked_reason = $3
WHERE user_id = $1 AND revoked_at IS NULL`, userID, s.now(), reason)
	if err != nil {
		return 0, fmt.Errorf("access: revoke the user's sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RevokeAll ends every live session of the given kind ("" for every kind).
func (s *Sessions) RevokeAll(ctx context.Context, q Querier, kind Kind, reason string) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE goforward.admin_sessions SET revoked_at = $2, revoked_reason = $3
WHERE revoked_at IS NULL AND ($1 = '' OR kind = $1)`, storedKind(kind), s.now(), reason)
	if err != nil {
		return 0, fmt.Errorf("access: revoke sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// List returns the live sessions, newest first: the user's, or every session when userID is
// "" (emergency access included).
func (s *Sessions) List(ctx context.Context, q Querier, userID string) ([]Session, error) {
	rows, err := q.Query(ctx, `SELECT `+sessionColumns+`
FROM goforward.admin_sessions s
LEFT JOIN auth.users u ON u.id = s.user_id
WHERE s.revoked_at IS NULL AND s.expires_at > $2 AND ($1 = '' OR s.user_id::text = $1)
  AND (s.kind = 'emergency' OR s.last_active_at > $3)
ORDER BY s.created_at DESC`, userID, s.now(), s.now().Add(-s.cfg.IdleTimeout))
	if err != nil {
		return nil, fmt.Errorf("access: list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("access: list sessions: %w", err)
		}
		out = append(out, sess)
	}
	return out, rows.Err()
}

const sessionColumns = `s.id, coalesce(s.user_id::text, ''), coalesce(u.email, ''), s.kind, s.level, s.capabilities,
  s.mfa_verified, coalesce(host(s.ip), ''), s.user_agent, s.reason, s.created_at, s.last_active_at, s.expires_at`

// scanSession reads sessionColumns, then the extra columns the query added into extra.
func scanSession(row pgx.Row, extra ...any) (Session, error) {
	var sess Session
	var kind, level string
	dest := append([]any{&sess.ID, &sess.UserID, &sess.Email, &kind, &level, &sess.Capabilities, &sess.MFAVerified, &sess.IP,
		&sess.UserAgent, &sess.Reason, &sess.CreatedAt, &sess.LastActiveAt, &sess.ExpiresAt}, extra...)
	err := row.Scan(dest...)
	sess.Level = Level(level)
	sess.Kind = KindAdmin
	if kind == "emergency" {
		sess.Kind = KindEmergency
	}
	return sess, err
}

func storedKind(k Kind) string {
	switch k {
	case KindAdmin:
		return "password"
	case KindEmergency:
		return "emergency"
	}
	return ""
}

// NewToken returns prefix plus 256 random bits, and the hash to store (HashToken).
func NewToken(prefix string) (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("access: random token: %w", err)
	}
	secret := prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret), nil
}

// HashToken is the SHA-256 a token is stored and looked up as: the tokens carry 256 random
// bits, so a fast hash is enough and a database reader learns nothing usable.
func HashToken(token string) []byte { return hashSecret(token) }

func hashSecret(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// isUUID reports whether id is a UUID in its canonical 36-character form, the only form
// session ids are handed out in.
func isUUID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}
