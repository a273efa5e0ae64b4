package tablesecurity

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// MaskColumnPrefix starts the name of the column holding a masked column's masked copy
// (gf_mask_email for email). Realtime sends a role that may read only the copy its value under
// the column's own name, and never the copy under its own.
const MaskColumnPrefix = "gf_mask_"

// readKind is how a role may read a column.
type readKind int

const (
	readNone readKind = iota
	readRaw
	readMasked
)

// roleRights is what one API role may do with the table once the config is compiled.
type roleRights struct {
	role   string
	read   bool // may select rows
	write  bool // may insert, update and delete rows
	reads  map[string]readKind
	writes map[string]bool
}

// restricted reports whether the role cannot read some column as it is: it then gets a view
// in the table's place showing what it may read.
func (r *roleRights) restricted(t *table) bool {
	if !r.read {
		return false
	}
	for _, c := range t.Columns {
		if !isHelper(c.Name) && r.reads[c.Name] != readRaw {
			return true
		}
	}
	return false
}

// maskSpec is how one masked column is masked.
type maskSpec struct {
	Column string `json:"column"`
	Helper string `json:"helper"`
	Kind   string `json:"kind"`
	Mask   string `json:"mask"`
}

// model is a validated config, resolved against the table.
type model struct {
	cfg         *Config
	rights      []*roleRights // anon, authenticated
	masks       []maskSpec    // by column order
	ownerExpr   string        // the ownership condition; "" without ownership
	appRoles    bool          // allowed_roles names an application role
	allowed     []netip.Prefix
	filters     []filter
	audit       []string
	warnings    []string
	ownerColumn string
}

var (
	roleNamePattern   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,63}$`)
	filterNamePattern = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
)

func isHelper(name string) bool { return strings.HasPrefix(name, MaskColumnPrefix) }

func isDBRole(name string) bool {
	return name == "anon" || name == "authenticated" || name == "service_role"
}

// resolve validates cfg against t and works out every role's rights. Custom filters are
// only read here; their SQL is checked by checkFilters.
func resolve(cfg *Config, t *table) (*model, error) {
	api := &cfg.APIConfig
	m := &model{cfg: cfg}
	if err := m.checkColumns(t); err != nil {
		return nil, err
	}
	for _, r := range api.AllowedRoles {
		if !roleNamePattern.MatchString(r) {
			return nil, invalid("api_config.allowed_roles: %q is not a role name", r)
		}
		if !isDBRole(r) {
			m.appRoles = true
		}
	}
	if err := m.resolveOwnership(t); err != nil {
		return nil, err
	}
	for _, entry := range api.IPWhitelist {
		p, err := parsePrefix(entry)
		if err != nil {
			return nil, invalid("api_config.ip_whitelist: %q is not an IP address or CIDR range", entry)
		}
		m.allowed = append(m.allowed, p)
	}
	if rl := api.RateLimit; rl != nil && (rl.RequestsPerMinute < 1 || rl.Burst < 0) {
		return nil, invalid("api_config.rate_limit: requests_per_minute must be at least 1 and burst not negative")
	}
	for _, a := range cfg.AuditConfig.Actions {
		if !slices.Contains([]string{ActionSelect, ActionInsert, ActionUpdate, ActionDelete}, a) {
			return nil, invalid("audit_config.actions: %q is not one of select, insert, update, delete", a)
		}
	}
	m.audit = cfg.AuditedActions()
	names := make([]string, 0, len(api.CustomFilters))
	for name := range api.CustomFilters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !filterNamePattern.MatchString(name) {
			return nil, invalid("api_config.custom_filters: %q must be 1-40 of a-z, 0-9 and _", name)
		}
		m.filters = append(m.filters, filter{name: name, sql: api.CustomFilters[name]})
	}
	m.rights = []*roleRights{m.rightsOf("anon", t), m.rightsOf("authenticated", t)}
	m.collectMasks(t)
	return m, nil
}

// checkColumns makes sure every column the config names exists and is not a helper.
func (m *model) checkColumns(t *table) error {
	api := &m.cfg.APIConfig
	lists := map[string][]string{
		"readable_fields": api.ReadableFields, "writable_fields": api.WritableFields, "hidden_fields": api.HiddenFields,
	}
	for _, key := range []string{"readable_fields", "writable_fields", "hidden_fields"} {
		for _, name := range lists[key] {
			if t.column(name) == nil || isHelper(name) {
				return invalid("api_config.%s: table %s.%s has no column %q", key, t.Schema, t.Name, name)
			}
		}
	}
	for name, fp := range m.cfg.FieldPermissions {
		switch {
		case t.column(name) == nil || isHelper(name):
			return invalid("field_permissions: table %s.%s has no column %q", t.Schema, t.Name, name)
		case fp.FieldName != "" && fp.FieldName != name:
			return invalid("field_permissions.%s: field_name %q does not match its key", name, fp.FieldName)
		case fp.IsHidden && fp.IsMasked:
			return invalid("field_permissions.%s: a field is hidden or masked, not both", name)
		case len(MaskColumnPrefix+name) > 63:
			return invalid("field_permissions.%s: the column name is too long to mask (at most %d bytes)", name, 63-len(MaskColumnPrefix))
		}
		for _, r := range fp.AllowedRoles {
			if !isDBRole(r) {
				return invalid("field_permissions.%s.allowed_roles: %q is not anon, authenticated or service_role; column privileges follow the database role, so field rules cannot name application roles", name, r)
			}
		}
		switch fp.Mask {
		case "", MaskEmail, MaskLast4, MaskFixed:
		default:
			return invalid("field_permissions.%s.mask: %q is not email, last4 or fixed", name, fp.Mask)
		}
		if fp.MaskValue != "" && fp.Mask != "" && fp.Mask != MaskFixed {
			return invalid("field_permissions.%s.mask_value: only a fixed mask has a value", name)
		}
	}
	return nil
}

// resolveOwnership builds the ownership condition from the column's type.
func (m *model) resolveOwnership(t *table) error {
	api := &m.cfg.APIConfig
	if !api.RequireOwnership {
		if api.OwnershipColumn != "" {
			m.warnings = append(m.warnings, "api_config.ownership_column is ignored: require_ownership is false")
		}
		return nil
	}
	if api.OwnershipColumn == "" {
		return invalid("api_config.require_ownership needs api_config.ownership_column")
	}
	c := t.column(api.OwnershipColumn)
	if c == nil || isHelper(c.Name) {
		return invalid("api_config.ownership_column: table %s.%s has no column %q", t.Schema, t.Name, api.OwnershipColumn)
	}
	col := quoteIdent(c.Name)
	switch c.TypName {
	case "uuid":
		m.ownerExpr = col + " = (SELECT auth.uid())"
	case "text", "varchar", "bpchar":
		m.ownerExpr = col + " = (SELECT auth.uid()::text)"
	default:
		return invalid("api_config.ownership_column: %s is of type %s; it must be uuid or text, holding the user's id", c.Name, c.Type)
	}
	m.ownerColumn = c.Name
	return nil
}

// admitted reports whether role may reach the table at all.
func (m *model) admitted(role string) bool {
	api := &m.cfg.APIConfig
	if role == "anon" && (api.RequireAuth || api.RequireVerified || api.RequireMFA) {
		return false
	}
	if len(api.AllowedRoles) == 0 || slices.Contains(api.AllowedRoles, role) {
		return true
	}
	// An application role is held by signed-in users: they are let in, and a policy checks it.
	return role == "authenticated" && m.appRoles
}

// rightsOf works out one role's rights. Reading: anon only with public_read; signed-in users
// always (their own rows under ownership, unless public_read). Writing: anon only with
// public_write; signed-in users with public_write, or their own rows under ownership.
func (m *model) rightsOf(role string, t *table) *roleRights {
	api := &m.cfg.APIConfig
	r := &roleRights{role: role, reads: map[string]readKind{}, writes: map[string]bool{}}
	if m.admitted(role) {
		if role == "anon" {
			r.read, r.write = api.PublicRead, api.PublicWrite
		} else {
			r.read, r.write = true, api.PublicWrite || api.RequireOwnership
		}
	}
	for _, c := range t.Columns {
		if isHelper(c.Name) {
			continue
		}
		read := r.read && (len(api.ReadableFields) == 0 || slices.Contains(api.ReadableFields, c.Name)) &&
			!slices.Contains(api.HiddenFields, c.Name)
		write := r.write && (len(api.WritableFields) == 0 || slices.Contains(api.WritableFields, c.Name)) &&
			!slices.Contains(api.HiddenFields, c.Name)
		kind := readNone
		if read {
			kind = readRaw
		}
		if fp, ok := m.cfg.FieldPermissions[c.Name]; ok && !slices.Contains(fp.AllowedRoles, role) {
			switch {
			case fp.IsHidden || !read:
				kind, write = readNone, false
			case fp.IsMasked:
				kind = readMasked
			case !fp.CanRead:
				kind = readNone
			}
			write = write && fp.CanWrite
		}
		r.reads[c.Name] = kind
		r.writes[c.Name] = write
	}
	return r
}

// collectMasks lists the columns some role reads masked, in column order.
func (m *model) collectMasks(t *table) {
	for _, c := range t.Columns {
		masked := false
		for _, r := range m.rights {
			masked = masked || r.reads[c.Name] == readMasked
		}
		if !masked {
			continue
		}
		fp := m.cfg.FieldPermissions[c.Name]
		kind := fp.Mask
		if kind == "" {
			kind = MaskFixed
		}
		mask := ""
		if kind == MaskFixed {
			mask = fp.MaskValue
			if mask == "" {
				mask = "****"
			}
		}
		m.masks = append(m.masks, maskSpec{Column: c.Name, Helper: MaskColumnPrefix + c.Name, Kind: kind, Mask: mask})
		if slices.Contains(t.PrimaryKey, c.Name) {
			m.warnings = append(m.warnings, fmt.Sprintf("%s is part of the primary key: the roles reading it masked cannot use it to address rows", c.Name))
		}
	}
}

// parsePrefix reads an address (a /32 or /128) or a CIDR range, masked to its network.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}
