package tablesecurity

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/sqlguard"
)

// filter is one custom filter: a condition every row the API roles reach must meet.
type filter struct {
	name string
	sql  string // as given
	// checked is the condition as the parser wrote it back (see sqlguard.Expression).
	checked string
}

// command is the policy command a filter applies to: its name when that is a command, else ALL.
func (f filter) command() string {
	switch f.name {
	case ActionSelect, ActionInsert, ActionUpdate, ActionDelete:
		return strings.ToUpper(f.name)
	}
	return "ALL"
}

// checkFilters reads every custom filter with the SQL runner's parser: one value expression,
// nothing dangerous, no volatile function (looked up in q's catalog), and no table of another
// schema than the table's own. What PostgreSQL itself resolves (unqualified names, the
// functions behind operators) is checked again once the policy exists (checkPolicyDependencies).
func checkFilters(ctx context.Context, q sqlguard.Querier, m *model, t *table) error {
	analyzer := &sqlguard.Analyzer{Catalog: sqlguard.NewCatalog(q)}
	for i := range m.filters {
		f := &m.filters[i]
		where := "api_config.custom_filters." + f.name
		x, err := analyzer.Expression(ctx, f.sql)
		if err != nil {
			if sqlguard.IsParseError(err) {
				return invalid("%s: %v", where, err)
			}
			return fmt.Errorf("tablesecurity: check %s: %w", where, err)
		}
		if len(x.Statement.Classes) > 0 {
			return invalid("%s: not allowed in a filter: %s", where, strings.Join(x.Statement.Warnings, "; "))
		}
		if x.Statement.Kind != sqlguard.KindRead {
			return invalid("%s: a filter may only read: it must not write, lock rows or call a volatile function", where)
		}
		for _, rel := range x.Relations {
			if rel.Schema != "" && rel.Schema != t.Schema {
				return invalid("%s: reads %s.%s; a filter may only read tables of schema %s", where, rel.Schema, rel.Name, t.Schema)
			}
		}
		f.checked = x.SQL
	}
	return nil
}

// policyDependenciesSQL lists what the compiled filter policies of a table depend on, as
// PostgreSQL resolved it: relations outside the table's schema, and volatile functions (called
// directly or behind an operator).
const policyDependenciesSQL = `SELECT p.polname::text, 'reads ' || n.nspname || '.' || c.relname
	FROM pg_catalog.pg_policy p
	JOIN pg_catalog.pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_class'::regclass
	JOIN pg_catalog.pg_class c ON c.oid = d.refobjid
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE p.polrelid = $1::oid AND p.polname = ANY ($2::text[]) AND c.oid <> $1::oid AND n.nspname <> $3
	UNION ALL
	SELECT p.polname::text, 'calls the volatile function ' || f.oid::regprocedure::text
	FROM pg_catalog.pg_policy p
	JOIN pg_catalog.pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
	JOIN pg_catalog.pg_proc f ON f.oid = CASE d.refclassid
	    WHEN 'pg_proc'::regclass THEN d.refobjid
	    WHEN 'pg_operator'::regclass THEN (SELECT o.oprcode FROM pg_catalog.pg_operator o WHERE o.oid = d.refobjid)
	  END
	WHERE p.polrelid = $1::oid AND p.polname = ANY ($2::text[]) AND f.provolatile = 'v'`

// checkPolicyDependencies runs after the filter policies were created in the transaction: a
// violation fails the PUT, which rolls everything back.
func checkPolicyDependencies(ctx context.Context, q Querier, t *table, m *model) error {
	var names []string
	for _, f := range m.filters {
		names = append(names, filterPolicy(f.name))
	}
	if len(names) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, policyDependenciesSQL, t.OID, names, t.Schema)
	if err != nil {
		return fmt.Errorf("tablesecurity: check filter dependencies: %w", err)
	}
	var policy, what string
	var problems []string
	if _, err := pgx.ForEachRow(rows, []any{&policy, &what}, func() error {
		problems = append(problems, fmt.Sprintf("api_config.custom_filters.%s %s", strings.TrimPrefix(policy, "gf_filter_"), what))
		return nil
	}); err != nil {
		return fmt.Errorf("tablesecurity: check filter dependencies: %w", err)
	}
	if len(problems) > 0 {
		return invalid("%s: a filter may only read tables of schema %s and call functions that are not volatile", strings.Join(problems, "; "), t.Schema)
	}
	return nil
}

func filterPolicy(name string) string { return "gf_filter_" + name }
