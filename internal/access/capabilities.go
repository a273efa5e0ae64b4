// Package access decides what an administrator may do: the four admin levels, the capabilities
// each level carries (one table, read by every check), the principal behind an admin request
// (an admin session, emergency access or the service-role key) and admin sessions themselves.
//
// It is a base package: the admin service (/admin/v1) and every later control-plane service
// (/pg, table security) authorize through it, and none of them imports another.
package access

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Level is an administrator's rank. Higher levels hold every capability of the lower ones.
type Level string

// The levels, highest first.
const (
	SystemAdmin  Level = "system_admin"
	SuperAdmin   Level = "super_admin"
	RegularAdmin Level = "regular_admin"
	Moderator    Level = "moderator"
)

// Levels lists every level, highest first.
var Levels = []Level{SystemAdmin, SuperAdmin, RegularAdmin, Moderator}

// ParseLevel returns the level named s, or an error naming the valid ones.
func ParseLevel(s string) (Level, error) {
	if l := Level(s); slices.Contains(Levels, l) {
		return l, nil
	}
	return "", fmt.Errorf("unknown admin level %q: use one of system_admin, super_admin, regular_admin, moderator", s)
}

// rank orders levels: a higher rank outranks a lower one. Unknown levels rank 0.
func (l Level) rank() int {
	if i := slices.Index(Levels, l); i >= 0 {
		return len(Levels) - i
	}
	return 0
}

// Outranks reports whether l is strictly above other.
func (l Level) Outranks(other Level) bool { return l.rank() > other.rank() }

// Capability names one thing an admin may do. The names are the JSON fields of the original
// design's AdminCapabilities.
type Capability string

// Every capability, grouped by the lowest level that holds it.
const (
	// System admins.
	CanAccessSQL        Capability = "can_access_sql"
	CanManageDatabase   Capability = "can_manage_database"
	CanManageSystem     Capability = "can_manage_system"
	CanCreateSuperAdmin Capability = "can_create_super_admin"
	// Super admins.
	CanCreateAdmins    Capability = "can_create_admins"
	CanManageAllTables Capability = "can_manage_all_tables"
	CanManageAuth      Capability = "can_manage_auth"
	CanManageStorage   Capability = "can_manage_storage"
	CanViewAllLogs     Capability = "can_view_all_logs"
	// Regular admins: users and content, limited to their assigned tables and user groups.
	CanManageUsers   Capability = "can_manage_users"
	CanManageContent Capability = "can_manage_content"
	// Moderators.
	CanViewReports     Capability = "can_view_reports"
	CanModerateContent Capability = "can_moderate_content"
	CanViewBasicLogs   Capability = "can_view_basic_logs"
	// Every level.
	CanViewDashboard Capability = "can_view_dashboard"
	CanExportData    Capability = "can_export_data"
)

// levelCapabilities is the one table the whole control plane reads: what each level may do.
// Each level's own capabilities come first; it then holds everything of the levels below it.
var levelCapabilities = map[Level][]Capability{
	SystemAdmin:  {CanAccessSQL, CanManageDatabase, CanManageSystem, CanCreateSuperAdmin},
	SuperAdmin:   {CanCreateAdmins, CanManageAllTables, CanManageAuth, CanManageStorage, CanViewAllLogs},
	RegularAdmin: {CanManageUsers, CanManageContent},
	Moderator:    {CanViewReports, CanModerateContent, CanViewBasicLogs, CanViewDashboard, CanExportData},
}

// AllCapabilities lists every capability in the order of the table, system admins' first.
func AllCapabilities() []Capability {
	var out []Capability
	for _, l := range Levels {
		out = append(out, levelCapabilities[l]...)
	}
	return out
}

// CapabilitiesOf lists what level l may do: its own row of the table and every row below it.
func CapabilitiesOf(l Level) []Capability {
	var out []Capability
	for _, lower := range Levels {
		if !lower.Outranks(l) {
			out = append(out, levelCapabilities[lower]...)
		}
	}
	if l.rank() == 0 {
		return nil
	}
	return out
}

// Capabilities is what one principal may do, in the original design's AdminCapabilities
// shape: a flag per capability plus the tables and user groups a regular admin is limited to.
type Capabilities struct {
	Flags          map[Capability]bool `json:"-"`
	AssignedTables []string            `json:"assigned_tables"`
	AssignedGroups []string            `json:"assigned_user_groups"`
}

// For builds the capabilities of level l. Assigned tables and groups only limit levels that do
// not manage everything (regular admins and moderators); they are kept for the record anyway.
func For(l Level, tables, groups []string) Capabilities {
	c := Capabilities{Flags: map[Capability]bool{}, AssignedTables: nonNil(tables), AssignedGroups: nonNil(groups)}
	for _, cap := range CapabilitiesOf(l) {
		c.Flags[cap] = true
	}
	return c
}

// Has reports whether the capability is held.
func (c Capabilities) Has(cap Capability) bool { return c.Flags[cap] }

// AllTables reports whether the holder manages every table rather than its assigned ones.
func (c Capabilities) AllTables() bool { return c.Has(CanManageAllTables) }

// AllUsers reports whether the holder manages every user rather than those of its groups.
// Managing auth (super admins and above) is managing every user.
func (c Capabilities) AllUsers() bool { return c.Has(CanManageAuth) }

// MayManageTable reports whether the holder may manage content of the table ("schema.table").
func (c Capabilities) MayManageTable(table string) bool {
	if c.AllTables() {
		return true
	}
	return c.Has(CanManageContent) && slices.Contains(c.AssignedTables, table)
}

// MayManageUserIn reports whether the holder may manage a user who belongs to groups.
func (c Capabilities) MayManageUserIn(groups []string) bool {
	if !c.Has(CanManageUsers) {
		return false
	}
	if c.AllUsers() {
		return true
	}
	for _, g := range groups {
		if slices.Contains(c.AssignedGroups, g) {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// MarshalJSON writes the original design's AdminCapabilities object: every capability as a
// boolean, then the assigned tables and groups.
func (c Capabilities) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(levelCapabilities)+2)
	for _, cap := range AllCapabilities() {
		m[string(cap)] = c.Flags[cap]
	}
	m["assigned_tables"] = nonNil(c.AssignedTables)
	m["assigned_user_groups"] = nonNil(c.AssignedGroups)
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON wrote (a session's copy of its capabilities). Unknown
// keys are ignored, so a session stored by an older binary still loads.
func (c *Capabilities) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	out := Capabilities{Flags: map[Capability]bool{}}
	for _, cap := range AllCapabilities() {
		var held bool
		if raw, ok := m[string(cap)]; ok {
			if err := json.Unmarshal(raw, &held); err != nil {
				return fmt.Errorf("capability %s: %w", cap, err)
			}
		}
		if held {
			out.Flags[cap] = true
		}
	}
	for key, dst := range map[string]*[]string{"assigned_tables": &out.AssignedTables, "assigned_user_groups": &out.AssignedGroups} {
		if raw, ok := m[key]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
		*dst = nonNil(*dst)
	}
	*c = out
	return nil
}
