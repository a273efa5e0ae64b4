package access

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLevelsHoldTheOriginalDesignsCapabilities pins the table: each level holds its own row
// of the original design's AdminCapabilities and every row below it.
func TestLevelsHoldTheOriginalDesignsCapabilities(t *testing.T) {
	t.Parallel()
	common := []Capability{CanViewDashboard, CanExportData}
	moderator := append([]Capability{CanViewReports, CanModerateContent, CanViewBasicLogs}, common...)
	regular := append([]Capability{CanManageUsers, CanManageContent}, moderator...)
	super := append([]Capability{CanCreateAdmins, CanManageAllTables, CanManageAuth, CanManageStorage, CanViewAllLogs}, regular...)
	system := append([]Capability{CanAccessSQL, CanManageDatabase, CanManageSystem, CanCreateSuperAdmin}, super...)
	for level, want := range map[Level][]Capability{SystemAdmin: system, SuperAdmin: super, RegularAdmin: regular, Moderator: moderator} {
		require.ElementsMatch(t, want, CapabilitiesOf(level), level)
		caps := For(level, nil, nil)
		for _, c := range AllCapabilities() {
			require.Equal(t, contains(want, c), caps.Has(c), "%s %s", level, c)
		}
	}
	require.Empty(t, CapabilitiesOf("root"))
	require.Len(t, AllCapabilities(), 16)
}

func contains(list []Capability, c Capability) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

func TestGrantingIsStrictlyDownward(t *testing.T) {
	t.Parallel()
	session := func(l Level) Principal { return Principal{Kind: KindAdmin, Level: l, Capabilities: For(l, nil, nil)} }
	tests := []struct {
		name    string
		granter Principal
		may     []Level
	}{
		{"the CLI grants every level", CLI(), Levels},
		{"a system admin session grants super admins and below", session(SystemAdmin), []Level{SuperAdmin, RegularAdmin, Moderator}},
		{"the service role grants super admins and below", ServiceRole(), []Level{SuperAdmin, RegularAdmin, Moderator}},
		{"a super admin grants regular admins and moderators", session(SuperAdmin), []Level{RegularAdmin, Moderator}},
		{"a regular admin grants nothing", session(RegularAdmin), nil},
		{"a moderator grants nothing", session(Moderator), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, l := range Levels {
				require.Equal(t, contains(toCaps(tt.may), Capability(l)), tt.granter.MayGrant(l), l)
			}
		})
	}
}

func toCaps(levels []Level) []Capability {
	var out []Capability
	for _, l := range levels {
		out = append(out, Capability(l))
	}
	return out
}

func TestRegularAdminsAreLimitedToTheirTablesAndGroups(t *testing.T) {
	t.Parallel()
	c := For(RegularAdmin, []string{"public.posts"}, []string{"staff"})
	require.True(t, c.MayManageTable("public.posts"))
	require.False(t, c.MayManageTable("public.payments"))
	require.True(t, c.MayManageUserIn([]string{"customers", "staff"}))
	require.False(t, c.MayManageUserIn([]string{"customers"}))
	require.False(t, c.MayManageUserIn(nil))
	super := For(SuperAdmin, nil, nil)
	require.True(t, super.MayManageTable("public.payments"))
	require.True(t, super.MayManageUserIn(nil))
	require.False(t, For(Moderator, []string{"public.posts"}, []string{"staff"}).MayManageTable("public.posts"))
}

func TestCapabilitiesJSONIsTheOriginalDesignsShape(t *testing.T) {
	t.Parallel()
	c := For(RegularAdmin, []string{"public.posts"}, nil)
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	require.Len(t, m, 18)
	require.Equal(t, true, m["can_manage_users"])
	require.Equal(t, false, m["can_access_sql"])
	require.Equal(t, []any{"public.posts"}, m["assigned_tables"])
	require.Equal(t, []any{}, m["assigned_user_groups"])
	var back Capabilities
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, c, back)
}
