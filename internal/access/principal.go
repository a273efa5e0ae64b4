package access

import (
	"context"
	"log/slog"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/security"
)

// Kind tells how a principal proved itself.
type Kind string

const (
	// KindAdmin is an admin session opened with a password (and second factor).
	KindAdmin Kind = "admin"
	// KindEmergency is a session issued by `goforward emergency-access`: no user behind it,
	// system capabilities, a reason and a short life.
	KindEmergency Kind = "emergency"
	// KindServiceRole is the service-role key: the automation principal, with system
	// capabilities except creating system admins and emergency access.
	KindServiceRole Kind = "service_role"
	// KindCLI is the operator at the command line, acting on the data directory directly.
	KindCLI Kind = "cli"
)

// Principal is who is making an admin request and what it may do.
type Principal struct {
	Kind         Kind
	UserID       string // "" for the service role, emergency access and the CLI
	Email        string
	Level        Level
	Capabilities Capabilities
	// Session is the admin session the request rode on; nil for the service role and the CLI.
	Session *Session
	// ViaCookie is set when the session came in the dashboard's cookie (not a Bearer token),
	// which is what makes a CSRF token necessary.
	ViaCookie bool
	// APIKey is the secret API key a service-role principal came with; nil for the legacy
	// service-role key and every other kind. A key may only create keys no wider than its own.
	APIKey *security.APIKeyGrant
	csrf   string
}

// CSRF is the CSRF token of a cookie session, which the dashboard must echo in CSRFHeader on
// every unsafe request; "" for every other principal.
func (p Principal) CSRF() string { return p.csrf }

// ServiceRole is the principal of the service-role key.
func ServiceRole() Principal {
	return Principal{Kind: KindServiceRole, Level: SystemAdmin, Capabilities: For(SystemAdmin, nil, nil)}
}

// CLI is the principal of the operator at the command line, who holds the data directory and
// so everything.
func CLI() Principal {
	return Principal{Kind: KindCLI, Level: SystemAdmin, Capabilities: For(SystemAdmin, nil, nil)}
}

// Has reports whether the principal holds the capability.
func (p Principal) Has(c Capability) bool { return p.Capabilities.Has(c) }

// MayCreateSystemAdmins reports whether the principal may create, or raise someone to, a system
// admin: only the operator at the command line, never a session or the service role.
func (p Principal) MayCreateSystemAdmins() bool { return p.Kind == KindCLI }

// MayGrant reports whether the principal may give someone level l: strictly below its own
// level (a super admin grants regular admins and moderators), system admins only from the CLI.
func (p Principal) MayGrant(l Level) bool {
	switch l {
	case SystemAdmin:
		return p.MayCreateSystemAdmins()
	case SuperAdmin:
		return p.Has(CanCreateSuperAdmin)
	default:
		return p.Has(CanCreateAdmins) && p.Level.Outranks(l)
	}
}

// Actor is how the principal appears in the audit log.
func (p Principal) Actor() audit.Actor {
	a := audit.Actor{Type: string(p.Kind), ID: p.UserID, Email: p.Email}
	if p.APIKey != nil {
		// Which secret key acted: revoking it is the answer to a leak.
		a.ID = p.APIKey.ID
	}
	if p.Session != nil {
		a.SessionID = p.Session.ID
		if p.Kind == KindEmergency {
			a.ID = p.Session.ID
		}
	}
	return a
}

// LogValue keeps a principal's logging to who it is, never its session's secrets.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(p.Kind)), slog.String("user_id", p.UserID), slog.String("level", string(p.Level)))
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored by WithPrincipal and whether there was one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
