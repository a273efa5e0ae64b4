// Package tablesecurity compiles a table's security configuration (the original design's
// TableSecurityConfig) into PostgreSQL objects: row level security policies, the API roles'
// table and column privileges, masked copies of masked columns with a view per role that
// shows them in the columns' place, and audit triggers. PostgreSQL is then the one guard:
// REST, realtime, storage and SQL run as an API role all obey the same objects. Everything
// compiled is named gf_… and recorded, so the next change and DELETE remove exactly that and
// never touch a policy someone wrote by hand.
//
// It also keeps, per node, what cannot live in the database: the per-table rate limits and
// IP allow-lists the gateway and realtime enforce (Registry).
//
// It is a base package: the admin service serves it at /admin/v1/tables/{schema}.{table}/security,
// the gateway, realtime and the schema cache read what it compiled.
package tablesecurity

import (
	"bytes"
	"encoding/json"
	"time"
)

// Config is a table's security configuration, in the original design's TableSecurityConfig
// JSON, so configs written against that design load unchanged. The metadata fields (id,
// created_*, updated_*, is_active) are the server's: a PUT ignores them.
type Config struct {
	ID          string `json:"id"`
	TableName   string `json:"table_name"`
	SchemaName  string `json:"schema_name"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`

	APIConfig        APISecurityConfig          `json:"api_config"`
	FieldPermissions map[string]FieldPermission `json:"field_permissions"`
	AuditConfig      AuditConfig                `json:"audit_config"`

	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
	IsActive  bool      `json:"is_active"`
}

// APISecurityConfig is who may reach the table's rows and columns through the API roles
// (anon and authenticated; service_role bypasses it all, as it bypasses row level security).
type APISecurityConfig struct {
	// RequireAuth shuts anon out: only signed-in users reach the table.
	RequireAuth bool `json:"require_auth"`
	// RequireVerified admits only users whose e-mail address is confirmed (implies RequireAuth).
	RequireVerified bool `json:"require_verified"`
	// AllowedRoles, when not empty, admits only callers holding one of them: a database role
	// (anon, authenticated) or an application role (app_metadata.role or app_metadata.roles).
	AllowedRoles []string `json:"allowed_roles"`
	// RequireOwnership with OwnershipColumn (uuid or text, holding auth.uid()) limits signed-in
	// users to their own rows, for reading (unless PublicRead) and writing (unless PublicWrite).
	RequireOwnership bool   `json:"require_ownership"`
	OwnershipColumn  string `json:"ownership_column"`
	// PublicRead lets every admitted caller, anon included, read every row.
	PublicRead bool `json:"public_read"`
	// PublicWrite lets every admitted caller, anon included, write every row.
	PublicWrite bool `json:"public_write"`

	// RequireMFA admits only sessions that passed a second factor (aal2; implies RequireAuth).
	RequireMFA bool `json:"require_mfa"`
	// IPWhitelist, when not empty, admits only clients whose address lies in one of these
	// addresses or CIDR ranges.
	IPWhitelist []string `json:"ip_whitelist"`
	// RateLimit bounds requests to /rest/v1/{table} per user, or per client address for
	// requests without a user. Nil: only the gateway's global limit.
	RateLimit *RateLimitConfig `json:"rate_limit"`
	// AuditActions writes the table's inserts, updates and deletes to the audit log when
	// AuditConfig names no actions.
	AuditActions bool `json:"audit_actions"`

	// ReadableFields, when not empty, are the only columns the API roles may read.
	ReadableFields []string `json:"readable_fields"`
	// WritableFields, when not empty, are the only columns the API roles may write.
	WritableFields []string `json:"writable_fields"`
	// HiddenFields are neither readable nor writable by the API roles.
	HiddenFields []string `json:"hidden_fields"`

	// CustomFilters are SQL conditions every row must meet, keyed by a name. A key that is a
	// command (select, insert, update, delete) applies to that command only, any other key to
	// all of them.
	CustomFilters map[string]string `json:"custom_filters"`
}

// RateLimitConfig is a token bucket: RequestsPerMinute on average, bursts of Burst
// (default: a minute's worth).
type RateLimitConfig struct {
	RequestsPerMinute int `json:"requests_per_minute"`
	Burst             int `json:"burst,omitempty"`
}

// FieldPermission is what the API roles may do with one column. AllowedRoles are the roles
// the rule does not restrict (they read and write the column as it is); for every other API
// role (all of them when empty) the column is hidden (IsHidden), masked (IsMasked: readable
// only masked), readable (CanRead) and writable (CanWrite) as the flags say. An entry names
// everything: one with only is_masked set is masked and not writable.
type FieldPermission struct {
	FieldName    string   `json:"field_name"`
	CanRead      bool     `json:"can_read"`
	CanWrite     bool     `json:"can_write"`
	AllowedRoles []string `json:"allowed_roles"`
	IsHidden     bool     `json:"is_hidden"`
	IsMasked     bool     `json:"is_masked"`
	// Mask is how a masked value looks: "email" (j***@example.com), "last4" (****1234) or
	// "fixed" (MaskValue, default ****). Default fixed. Beyond the original design.
	Mask string `json:"mask,omitempty"`
	// MaskValue is the fixed mask. Beyond the original design.
	MaskValue string `json:"mask_value,omitempty"`
}

// AuditConfig says which of the table's actions go to the audit log. Actions are select,
// insert, update and delete; Enabled with no actions (or APISecurityConfig.AuditActions)
// means insert, update and delete.
type AuditConfig struct {
	Enabled bool     `json:"enabled"`
	Actions []string `json:"actions"`
}

// Mask kinds.
const (
	MaskEmail = "email"
	MaskLast4 = "last4"
	MaskFixed = "fixed"
)

// The commands audit actions and filters name.
const (
	ActionSelect = "select"
	ActionInsert = "insert"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// AuditedActions returns the actions written to the audit log, in a fixed order.
func (c *Config) AuditedActions() []string {
	actions := c.AuditConfig.Actions
	if len(actions) == 0 && (c.AuditConfig.Enabled || c.APIConfig.AuditActions) {
		actions = []string{ActionInsert, ActionUpdate, ActionDelete}
	}
	var out []string
	for _, a := range []string{ActionSelect, ActionInsert, ActionUpdate, ActionDelete} {
		for _, b := range actions {
			if a == b {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// Audits reports whether action is written to the audit log.
func (c *Config) Audits(action string) bool {
	for _, a := range c.AuditedActions() {
		if a == action {
			return true
		}
	}
	return false
}

// ParseConfig reads a config from JSON. Keys it does not know are ignored, so a config
// written for the original design with extra keys still loads, and reported in warnings, so a
// misspelt option does not pass unnoticed.
func ParseConfig(data []byte) (c *Config, warnings []string, err error) {
	c = &Config{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, nil, invalid("the body is not a table security config: %v", err)
	}
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	if err := strict.Decode(&Config{}); err != nil {
		warnings = append(warnings, "ignored: "+err.Error())
	}
	return c, warnings, nil
}
