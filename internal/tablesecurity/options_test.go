package tablesecurity_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each option, seen by SQL run as the API roles (the path REST, realtime's checks and
// storage take): what it lets through and what it refuses.

func api(opts map[string]any) map[string]any { return map[string]any{"api_config": opts} }

func TestRequireAuthShutsAnonOutAndPublicReadLetsItIn(t *testing.T) {
	f := newFixture(t, customersSQL)
	f.put(t, "customers", api(map[string]any{"require_auth": true, "public_read": true}))
	_, err := f.query(t, anonCaller, "select id from public.customers")
	require.ErrorContains(t, err, "permission denied")
	assert.Len(t, f.mustQuery(t, annCaller, "select id from public.customers"), 2)
	require.ErrorContains(t, f.exec(t, annCaller, "insert into public.customers (name) values ('x')"), "permission denied",
		"reading is public, writing is not")

	f.put(t, "customers", api(map[string]any{"public_read": true}))
	assert.Len(t, f.mustQuery(t, anonCaller, "select id from public.customers"), 2)
	require.ErrorContains(t, f.exec(t, anonCaller, "insert into public.customers (owner_id, name) values ($1, 'x')", ann), "permission denied")

	f.put(t, "customers", api(map[string]any{"public_read": true, "public_write": true}))
	require.NoError(t, f.exec(t, anonCaller, "insert into public.customers (owner_id, name) values ($1, 'by anon')", ann))
}

func TestRequireVerifiedAdmitsOnlyConfirmedAddresses(t *testing.T) {
	f := newFixture(t, customersSQL+`
insert into auth.users (id, aud, role, email, email_confirmed_at, created_at, updated_at) values
  ('`+ann+`', 'authenticated', 'authenticated', 'ann@example.com', now(), now(), now()),
  ('`+bob+`', 'authenticated', 'authenticated', 'bob@example.org', null, now(), now());`)
	f.put(t, "customers", api(map[string]any{"require_verified": true, "public_read": true}))
	assert.Len(t, f.mustQuery(t, annCaller, "select id from public.customers"), 2)
	assert.Empty(t, f.mustQuery(t, bobCaller, "select id from public.customers"))
}

func TestRequireMFAAdmitsOnlyAAL2Sessions(t *testing.T) {
	f := newFixture(t, customersSQL)
	f.put(t, "customers", api(map[string]any{"require_mfa": true, "public_read": true}))
	assert.Empty(t, f.mustQuery(t, caller{role: "authenticated", sub: ann, claims: map[string]any{"aal": "aal1"}}, "select id from public.customers"))
	assert.Len(t, f.mustQuery(t, caller{role: "authenticated", sub: ann, claims: map[string]any{"aal": "aal2"}}, "select id from public.customers"), 2)
}

func TestAllowedRolesAdmitsApplicationRolesFromAppMetadata(t *testing.T) {
	f := newFixture(t, customersSQL)
	f.put(t, "customers", api(map[string]any{"allowed_roles": []string{"support"}, "public_read": true}))
	support := caller{role: "authenticated", sub: bob, claims: map[string]any{"app_metadata": map[string]any{"roles": []string{"support"}}}}
	assert.Len(t, f.mustQuery(t, support, "select id from public.customers"), 2)
	assert.Empty(t, f.mustQuery(t, annCaller, "select id from public.customers"))
	// A role in user_metadata, which users write themselves, counts for nothing.
	forged := caller{role: "authenticated", sub: ann, claims: map[string]any{"user_metadata": map[string]any{"role": "support"}}}
	assert.Empty(t, f.mustQuery(t, forged, "select id from public.customers"))
	_, err := f.query(t, anonCaller, "select id from public.customers")
	require.ErrorContains(t, err, "permission denied")
}

func TestReadableWritableAndHiddenFieldsAreColumnPrivileges(t *testing.T) {
	f := newFixture(t, customersSQL)
	f.put(t, "customers", api(map[string]any{
		"require_ownership": true, "ownership_column": "owner_id",
		"readable_fields": []string{"id", "owner_id", "name", "status", "card"}, "writable_fields": []string{"name"},
		"hidden_fields": []string{"card"},
	}))
	assert.Equal(t, []string{"Ann"}, names(f.mustQuery(t, annCaller, "select name from public.customers")))
	for _, col := range []string{"email", "card"} {
		_, err := f.query(t, annCaller, "select "+col+" from public.customers")
		require.ErrorContains(t, err, "permission denied", col)
	}
	require.NoError(t, f.exec(t, annCaller, "update public.customers set name = 'Ann B' where id = 1"))
	require.ErrorContains(t, f.exec(t, annCaller, "update public.customers set status = 'gone' where id = 1"), "permission denied")
	require.ErrorContains(t, f.exec(t, annCaller, "update public.customers set card = '1' where id = 1"), "permission denied")
	// The service role keeps every column.
	assert.Len(t, f.owner(t, "select card from public.customers"), 2)
}

func TestMaskedFieldsAreMaskedForTheRolesNamedAndRawForTheOthers(t *testing.T) {
	f := newFixture(t, customersSQL)
	f.put(t, "customers", map[string]any{
		"api_config": map[string]any{"public_read": true},
		"field_permissions": map[string]any{
			"email": map[string]any{"is_masked": true, "mask": "email", "allowed_roles": []string{"authenticated"}},
			"card":  map[string]any{"is_masked": true, "mask": "fixed", "mask_value": "[card]"},
		},
	})
	assert.Equal(t, []map[string]any{{"email": "a***@example.com", "card": "[card]"}, {"email": "b***@example.org", "card": "[card]"}},
		f.mustQuery(t, anonCaller, "select email, card from gf_anon__public.customers order by id"))
	assert.Equal(t, []map[string]any{{"email": "ann@example.com", "card": "[card]"}, {"email": "bob@example.org", "card": "[card]"}},
		f.mustQuery(t, annCaller, "select email, card from gf_authenticated__public.customers order by id"))
	_, err := f.query(t, anonCaller, "select email from public.customers")
	require.ErrorContains(t, err, "permission denied", "the raw column is out of reach")
	// A write keeps the masked copy current.
	f.owner(t, "update public.customers set email = 'new@example.net' where id = 1")
	assert.Equal(t, "n***@example.net", f.mustQuery(t, anonCaller, "select email from gf_anon__public.customers where id = 1")[0]["email"])
}

func TestIPAllowListAdmitsOnlyListedClients(t *testing.T) {
	f := newFixture(t, customersSQL)
	f.put(t, "customers", api(map[string]any{"public_read": true, "ip_whitelist": []string{"10.0.0.0/8", "2001:db8::/32"}}))
	inside := caller{role: "anon", ip: "10.1.2.3"}
	outside := caller{role: "anon", ip: "192.0.2.1"}
	assert.Len(t, f.mustQuery(t, inside, "select id from public.customers"), 2)
	assert.Len(t, f.mustQuery(t, caller{role: "anon", ip: "2001:db8::1"}, "select id from public.customers"), 2)
	assert.Empty(t, f.mustQuery(t, outside, "select id from public.customers"))
}

func TestCustomFiltersAddConditionsAndKeepHandWrittenPoliciesWorking(t *testing.T) {
	f := newFixture(t, customersSQL+`
alter table public.customers enable row level security;
create policy support_reads_all on public.customers for select to authenticated
  using ((auth.jwt() -> 'app_metadata' ->> 'team') = 'support');`)
	f.put(t, "customers", map[string]any{"api_config": map[string]any{
		"require_ownership": true, "ownership_column": "owner_id",
		"custom_filters": map[string]string{"select": "status = 'active'"},
	}})
	f.owner(t, "update public.customers set status = 'closed' where id = 2")
	assert.Equal(t, []string{"Ann"}, names(f.mustQuery(t, annCaller, "select name from public.customers order by id")))
	assert.Empty(t, f.mustQuery(t, bobCaller, "select name from public.customers"), "the filter hides Bob's closed row from Bob")
	support := caller{role: "authenticated", sub: bob, claims: map[string]any{"app_metadata": map[string]any{"team": "support"}}}
	assert.Equal(t, []string{"Ann"}, names(f.mustQuery(t, support, "select name from public.customers order by id")),
		"the hand-written policy still admits support to every row, and the filter still applies")
}

// Storage reads a configured table through the table's policies: a policy on storage.objects
// that looks the table up finds nothing from outside the table's IP allow-list, so the object
// is refused there too.
func TestIPAllowListAppliesToStoragePoliciesReadingTheTable(t *testing.T) {
	f := newFixture(t, customersSQL+`
insert into storage.buckets (id, name) values ('cards', 'cards');
insert into storage.objects (bucket_id, name) values ('cards', 'Ann.pdf');
create policy by_customer on storage.objects for select to authenticated
  using (bucket_id = 'cards' and exists (select 1 from public.customers c where c.name || '.pdf' = objects.name));
`)
	f.put(t, "customers", api(map[string]any{"public_read": true, "ip_whitelist": []string{"10.0.0.0/8"}}))
	const objects = `select name from storage.objects where bucket_id = 'cards'`
	inside, outside := annCaller, annCaller
	inside.ip, outside.ip = "10.1.2.3", "192.0.2.1"
	assert.Equal(t, []string{"Ann.pdf"}, names(f.mustQuery(t, inside, objects)))
	assert.Empty(t, f.mustQuery(t, outside, objects))
}
