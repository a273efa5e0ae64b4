package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
)

// Error codes of admin and user management.
const (
	CodeCannotGrant       = "cannot_grant_level"
	CodeCannotManageAdmin = "cannot_manage_admin"
	CodeLastSystemAdmin   = "last_system_admin"
	CodeAdminExists       = "admin_exists"
	CodeAdminNotFound     = "admin_not_found"
	CodeUserNotFound      = "user_not_found"
	CodeUserOutsideGroups = "user_outside_groups"
)

// Sentinels the refusals of the manager wrap, for callers that branch on them (the CLI).
var (
	ErrCannotGrant     = errors.New("admin: the principal may not grant this level")
	ErrLastSystemAdmin = errors.New("admin: the last active system admin cannot be demoted, revoked or deleted")
	ErrNotAllowed      = errors.New("admin: the principal may not do this")
	// ErrNoSuchUser: a grant named an address no user has, and gave no password to create one.
	ErrNoSuchUser = errors.New("admin: no user has this address")
)

// Manager is admin and user management: the routes of /admin/v1 and the CLI's `admin` and
// `user` commands call the same methods. Methods that change something take the transaction
// to change it in and write their audit entry in it; run them with InTx, which also records
// refusals.
type Manager struct {
	pool     *pgxpool.Pool
	users    Users
	sessions *access.Sessions
	logger   *slog.Logger
}

// NewManager returns the manager. users is auth's user management (*auth.Service); logger nil
// means slog.Default().
func NewManager(pool *pgxpool.Pool, users Users, sessions *access.Sessions, logger *slog.Logger) *Manager {
	if logger == nil {
		logger = slog.Default()
	}
	return &Manager{pool: pool, users: users, sessions: sessions, logger: logger}
}

// refusal is an action the principal was not allowed: the answer it gets, and what the audit
// log records of the attempt once the transaction has rolled back.
type refusal struct {
	answer *httpx.AppError
	entry  audit.Entry
}

func (r *refusal) Error() string { return r.answer.Error() }
func (r *refusal) Unwrap() error { return r.answer }

// refuse builds a refusal of action on a resource; sentinel is what errors.Is finds in it.
func refuse(p access.Principal, action, resourceType, resourceID string, status int, code string, sentinel error, format string, args ...any) error {
	e := audit.Entry{
		Actor: p.Actor(), Action: action, ResourceType: resourceType, ResourceID: resourceID,
		Outcome: audit.Denied, Severity: audit.Warning, Details: map[string]any{"code": code, "level": string(p.Level)},
	}
	return &refusal{answer: apiError(status, code, format, args...).WithCause(sentinel), entry: e}
}

// InTx runs fn in a transaction and commits it when fn succeeds. When fn refused the action,
// the refusal is written to the audit log after the rollback, on its own.
func (m *Manager) InTx(ctx context.Context, c audit.Client, fn func(tx pgx.Tx) error) error {
	err := db.InTx(ctx, m.pool, fn)
	var ref *refusal
	if errors.As(err, &ref) {
		e := ref.entry
		e.Client = c
		if auditErr := audit.Record(context.WithoutCancel(ctx), m.pool, e); auditErr != nil {
			m.logger.Error("admin: audit a refused action", "action", e.Action, "error", auditErr)
		}
	}
	return err
}

// Admin is a row of goforward.admins as the API shows it.
type Admin struct {
	UserID         string       `json:"user_id"`
	Email          string       `json:"email"`
	Level          access.Level `json:"level"`
	AssignedTables []string     `json:"assigned_tables"`
	AssignedGroups []string     `json:"assigned_user_groups"`
	// Capabilities is what the level holds; nil once revoked.
	Capabilities *access.Capabilities `json:"capabilities,omitempty"`
	GrantedBy    string               `json:"granted_by,omitempty"`
	GrantedVia   string               `json:"granted_via"`
	GrantedAt    time.Time            `json:"granted_at"`
	UpdatedAt    time.Time            `json:"updated_at"`
	RevokedAt    *time.Time           `json:"revoked_at,omitempty"`
}

// Active reports whether the grant stands.
func (a Admin) Active() bool { return a.RevokedAt == nil }

const adminColumns = `a.user_id::text, coalesce(u.email, ''), a.level, a.assigned_tables, a.assigned_groups,
  coalesce(a.granted_by::text, ''), a.granted_via, a.granted_at, a.updated_at, a.revoked_at`

func scanAdmin(row pgx.Row) (Admin, error) {
	var a Admin
	var level string
	err := row.Scan(&a.UserID, &a.Email, &level, &a.AssignedTables, &a.AssignedGroups, &a.GrantedBy, &a.GrantedVia,
		&a.GrantedAt, &a.UpdatedAt, &a.RevokedAt)
	if err != nil {
		return a, err
	}
	a.Level = access.Level(level)
	if a.Active() {
		caps := access.For(a.Level, a.AssignedTables, a.AssignedGroups)
		a.Capabilities = &caps
	}
	return a, nil
}

// ListAdmins returns the admins, highest level first; revoked ones too when includeRevoked.
func (m *Manager) ListAdmins(ctx context.Context, q access.Querier, includeRevoked bool) ([]Admin, error) {
	rows, err := q.Query(ctx, `SELECT `+adminColumns+` FROM goforward.admins a JOIN auth.users u ON u.id = a.user_id
WHERE $1 OR a.revoked_at IS NULL
ORDER BY a.revoked_at IS NOT NULL, array_position($2::text[], a.level), u.email, a.user_id`, includeRevoked, levelNames())
	if err != nil {
		return nil, fmt.Errorf("admin: list admins: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Admin, error) { return scanAdmin(row) })
	if err != nil {
		return nil, fmt.Errorf("admin: list admins: %w", err)
	}
	if out == nil {
		out = []Admin{}
	}
	return out, nil
}

func levelNames() []string {
	out := make([]string, len(access.Levels))
	for i, l := range access.Levels {
		out[i] = string(l)
	}
	return out
}

// GetAdmin returns the admin row of the user, revoked or not: 404 admin_not_found when the
// user was never an admin.
func (m *Manager) GetAdmin(ctx context.Context, q access.Querier, userID string) (Admin, error) {
	return getAdmin(ctx, q, userID, false)
}

func getAdmin(ctx context.Context, q access.Querier, userID string, forUpdate bool) (Admin, error) {
	if !isUUID(userID) {
		return Admin{}, notFoundCode(CodeAdminNotFound, "No admin has the id %q", userID)
	}
	sql := `SELECT ` + adminColumns + ` FROM goforward.admins a JOIN auth.users u ON u.id = a.user_id WHERE a.user_id = $1`
	if forUpdate {
		sql += ` FOR UPDATE OF a`
	}
	a, err := scanAdmin(q.QueryRow(ctx, sql, userID))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Admin{}, notFoundCode(CodeAdminNotFound, "The user %s is not an admin", userID)
	case err != nil:
		return Admin{}, internalError(fmt.Errorf("admin: read admin: %w", err))
	}
	return a, nil
}

// activeAdminLevel is the level of the user's standing grant, "" when they are no admin.
func activeAdminLevel(ctx context.Context, tx pgx.Tx, userID string) (access.Level, error) {
	var level string
	err := tx.QueryRow(ctx, `SELECT level FROM goforward.admins WHERE user_id = $1 AND revoked_at IS NULL`, userID).Scan(&level)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", internalError(fmt.Errorf("admin: read admin: %w", err))
	}
	return access.Level(level), nil
}

// lockAdmins serialises every change that could leave no active system admin: taken first in
// the transaction (the migration's trigger takes the same lock), it makes the count that
// follows see every change committed before it, so two concurrent demotions cannot both pass.
func lockAdmins(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('goforward.admins', 0))`); err != nil {
		return internalError(fmt.Errorf("admin: lock admins: %w", err))
	}
	return nil
}

// keepsASystemAdmin refuses an action that would leave no active system admin: demoting,
// revoking or deleting target, the last one. Call it after lockAdmins.
func keepsASystemAdmin(ctx context.Context, tx pgx.Tx, p access.Principal, action, resourceType string, target Admin) error {
	if target.Level != access.SystemAdmin || !target.Active() {
		return nil
	}
	var others int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM goforward.admins
WHERE level = 'system_admin' AND revoked_at IS NULL AND user_id <> $1`, target.UserID).Scan(&others); err != nil {
		return internalError(fmt.Errorf("admin: count system admins: %w", err))
	}
	if others == 0 {
		return refuse(p, action, resourceType, target.UserID, http.StatusConflict, CodeLastSystemAdmin, ErrLastSystemAdmin,
			"%s is the last active system admin: create another one first (goforward admin create --level system_admin)", target.Email)
	}
	return nil
}

// mayManageAdmin refuses a principal that could not have granted the target's level: only a
// higher level changes, revokes or manages the account of an admin.
func mayManageAdmin(p access.Principal, action, resourceType, userID string, level access.Level) error {
	if p.MayGrant(level) {
		return nil
	}
	return refuse(p, action, resourceType, userID, http.StatusForbidden, CodeCannotManageAdmin, ErrNotAllowed,
		"This user is a %s; only a higher level manages it (system admins only from the command line)", level)
}

// mayGrant refuses a level the principal may not give.
func mayGrant(p access.Principal, action, userID string, level access.Level) error {
	if p.MayGrant(level) {
		return nil
	}
	var err error
	if level == access.SystemAdmin {
		err = refuse(p, action, "admin", userID, http.StatusForbidden, CodeCannotGrant, ErrCannotGrant,
			"System admins are made only from the command line: goforward admin create --level system_admin")
	} else {
		err = refuse(p, action, "admin", userID, http.StatusForbidden, CodeCannotGrant, ErrCannotGrant,
			"A %s may grant only levels below its own, not %s", describe(p), level)
	}
	// The security monitor's privilege_escalation rule reports the level that was asked for.
	err.(*refusal).entry.Details["requested_level"] = string(level)
	return err
}

func describe(p access.Principal) string {
	if p.Kind == access.KindAdmin {
		return string(p.Level)
	}
	return string(p.Kind)
}

// grantedVia is the principal's kind as goforward.admins.granted_via records it.
func grantedVia(p access.Principal) (via string, by any) {
	if p.Kind == access.KindAdmin && p.UserID != "" {
		return "admin", p.UserID
	}
	return string(p.Kind), nil
}

// Limits of assignments, so that one request cannot store an unbounded list.
const (
	maxAssignments   = 1000
	maxTableNameLen  = 2*63 + 1
	maxGroupNameLen  = 255
	assignedTableMsg = `assigned_tables holds "schema.table" names`
)

// cleanTables checks and de-duplicates assigned tables ("schema.table").
func cleanTables(tables []string) ([]string, error) {
	return cleanList(tables, "assigned_tables", func(t string) bool {
		schema, table, ok := strings.Cut(t, ".")
		return ok && schema != "" && table != "" && !strings.Contains(table, ".") && len(t) <= maxTableNameLen &&
			!strings.ContainsFunc(t, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' })
	}, assignedTableMsg)
}

// cleanGroups checks and de-duplicates assigned user groups.
func cleanGroups(groups []string) ([]string, error) {
	return cleanList(groups, "assigned_user_groups", func(g string) bool {
		return strings.TrimSpace(g) != "" && len(g) <= maxGroupNameLen && !strings.ContainsFunc(g, unicode.IsControl)
	}, "assigned_user_groups holds non-empty group names of at most 255 bytes")
}

func cleanList(in []string, field string, valid func(string) bool, rule string) ([]string, error) {
	if len(in) > maxAssignments {
		return nil, badRequest(CodeValidationFailed, "%s may hold at most %d entries", field, maxAssignments)
	}
	out := make([]string, 0, len(in))
	for _, v := range in {
		if !valid(v) {
			return nil, badRequest(CodeValidationFailed, "%s: %q is not valid (%s)", field, v, rule)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out, nil
}

// severityOf is how loud a grant of level is in the audit log.
func severityOf(l access.Level) string {
	switch l {
	case access.SystemAdmin:
		return audit.Critical
	case access.SuperAdmin:
		return audit.Warning
	}
	return audit.Info
}

// notFoundCode is a 404 naming what was not found more precisely than not_found.
func notFoundCode(code, format string, args ...any) *httpx.AppError {
	e := notFound(format, args...)
	e.Code = code
	return e
}

// isUUID reports whether s is a UUID in its canonical textual form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
