package config

import "time"

// AdminConfig configures the admin service (/admin/v1): admin sessions.
type AdminConfig struct {
	SessionIdleTimeout time.Duration `koanf:"session_idle_timeout" doc:"An admin session ends this long after its last request."`
	SessionMaxAge      time.Duration `koanf:"session_max_age" doc:"An admin session ends this long after sign-in, however active."`
}

// AuditConfig configures the audit log (goforward.audit_log).
type AuditConfig struct {
	Retention time.Duration `koanf:"retention" doc:"Entries older than this are moved to a gzip NDJSON archive under data_dir/audit (never silently deleted); 0 keeps every entry in the database."`
}

func defaultAdmin() AdminConfig {
	return AdminConfig{SessionIdleTimeout: 30 * time.Minute, SessionMaxAge: 12 * time.Hour}
}

func validateAdmin(errs *fieldErrors, a AdminConfig) {
	positive(errs, "admin.session_idle_timeout", a.SessionIdleTimeout)
	positive(errs, "admin.session_max_age", a.SessionMaxAge)
	if a.SessionIdleTimeout > a.SessionMaxAge {
		errs.add("admin.session_idle_timeout", "must not be longer than admin.session_max_age", a.SessionIdleTimeout)
	}
}

func validateAudit(errs *fieldErrors, a AuditConfig) {
	notNegative(errs, "audit.retention", a.Retention)
	if a.Retention > 0 && a.Retention < time.Hour {
		errs.add("audit.retention", "must be at least 1h, or 0 to keep every entry", a.Retention)
	}
}
