package sqlguard

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Volatility is a function's pg_proc.provolatile.
type Volatility byte

// The volatilities, ordered from least to most volatile as PostgreSQL's letters are.
const (
	// VolatilityUnknown: no function of that name exists.
	VolatilityUnknown Volatility = 0
	// Immutable: same arguments, same result, no side effects.
	Immutable Volatility = 'i'
	// Stable: no side effects, same result within one statement.
	Stable Volatility = 's'
	// Volatile: may change the database or return anything on each call.
	Volatile Volatility = 'v'
)

// FunctionCatalog tells how volatile the functions a statement calls are, so that a SELECT
// calling a VOLATILE function counts as a write. Catalog implements it with a pgx query.
type FunctionCatalog interface {
	// Volatility returns the most volatile of the functions named name in schema, or on the
	// search path when schema is "" (overloads are not told apart: a name any of whose
	// overloads is volatile counts as volatile), and VolatilityUnknown when none exists.
	Volatility(ctx context.Context, schema, name string) (Volatility, error)
}

// dangerousFunctions are functions whose call is dangerous whatever the statement around it,
// matched by name in any schema (a function of one's own with such a name is flagged too,
// which costs a confirmation, where missing a renamed-in-place builtin would cost more).
var dangerousFunctions = map[string]Class{
	// Server files.
	"pg_read_file":            ClassFileAccess,
	"pg_read_binary_file":     ClassFileAccess,
	"pg_stat_file":            ClassFileAccess,
	"pg_ls_dir":               ClassFileAccess,
	"pg_ls_logdir":            ClassFileAccess,
	"pg_ls_waldir":            ClassFileAccess,
	"pg_ls_tmpdir":            ClassFileAccess,
	"pg_ls_archive_statusdir": ClassFileAccess,
	"pg_ls_logicalsnapdir":    ClassFileAccess,
	"pg_ls_logicalmapdir":     ClassFileAccess,
	"pg_ls_replslotdir":       ClassFileAccess,
	"pg_ls_summariesdir":      ClassFileAccess,
	"lo_import":               ClassFileAccess,
	"lo_export":               ClassFileAccess,
	"pg_file_write":           ClassFileAccess, // adminpack
	"pg_file_read":            ClassFileAccess,
	"pg_file_rename":          ClassFileAccess,
	"pg_file_unlink":          ClassFileAccess,
	"pg_file_sync":            ClassFileAccess,
	"pg_logdir_ls":            ClassFileAccess,
	// Connections out of the server (dblink_* are matched by prefix).
	"dblink":      ClassRemoteConnection,
	"http":        ClassRemoteConnection, // pgsql-http
	"http_get":    ClassRemoteConnection, // pgsql-http, pg_net's net.http_get
	"http_post":   ClassRemoteConnection,
	"http_put":    ClassRemoteConnection,
	"http_patch":  ClassRemoteConnection,
	"http_delete": ClassRemoteConnection,
	"http_head":   ClassRemoteConnection,
	// The server itself and other sessions.
	"pg_terminate_backend":                ClassServerControl,
	"pg_cancel_backend":                   ClassServerControl,
	"pg_reload_conf":                      ClassServerControl,
	"pg_rotate_logfile":                   ClassServerControl,
	"pg_promote":                          ClassServerControl,
	"pg_switch_wal":                       ClassServerControl,
	"pg_create_restore_point":             ClassServerControl,
	"pg_backup_start":                     ClassServerControl,
	"pg_backup_stop":                      ClassServerControl,
	"pg_wal_replay_pause":                 ClassServerControl,
	"pg_wal_replay_resume":                ClassServerControl,
	"pg_create_physical_replication_slot": ClassServerControl,
	"pg_create_logical_replication_slot":  ClassServerControl,
	"pg_drop_replication_slot":            ClassServerControl,
	"pg_copy_physical_replication_slot":   ClassServerControl,
	"pg_copy_logical_replication_slot":    ClassServerControl,
	"pg_replication_slot_advance":         ClassServerControl,
	"pg_logical_slot_get_changes":         ClassServerControl, // every row change, past RLS
	"pg_logical_slot_get_binary_changes":  ClassServerControl,
	"pg_logical_slot_peek_changes":        ClassServerControl,
	"pg_logical_slot_peek_binary_changes": ClassServerControl,
	"pg_replication_origin_create":        ClassServerControl,
	"pg_replication_origin_drop":          ClassServerControl,
	"pg_log_backend_memory_contexts":      ClassServerControl,
	// SQL given as text, run where it cannot be checked.
	"query_to_xml":               ClassDynamicSQL,
	"query_to_xmlschema":         ClassDynamicSQL,
	"query_to_xml_and_xmlschema": ClassDynamicSQL,
	"ts_stat":                    ClassDynamicSQL,
	"ts_rewrite":                 ClassDynamicSQL,
}

func dangerousFunction(name string) (Class, bool) {
	if strings.HasPrefix(name, "dblink_") {
		return ClassRemoteConnection, true
	}
	c, ok := dangerousFunctions[name]
	return c, ok
}

// sideEffectFunctions are built-in functions that change state although they are called
// from a SELECT; without a catalog they are what makes a SELECT a write.
var sideEffectFunctions = map[string]bool{
	"nextval": true, "setval": true, "set_config": true, "pg_notify": true,
	"txid_current": true, "pg_current_xact_id": true, "pg_logical_emit_message": true,
	"pg_advisory_lock": true, "pg_advisory_lock_shared": true,
	"pg_advisory_xact_lock": true, "pg_advisory_xact_lock_shared": true,
	"pg_try_advisory_lock": true, "pg_try_advisory_lock_shared": true,
	"pg_try_advisory_xact_lock": true, "pg_try_advisory_xact_lock_shared": true,
	"pg_advisory_unlock": true, "pg_advisory_unlock_shared": true, "pg_advisory_unlock_all": true,
	"lo_create": true, "lo_creat": true, "lo_unlink": true, "lo_put": true, "lo_from_bytea": true,
	"lo_open": true, "lowrite": true, "lo_truncate": true, "lo_truncate64": true,
	"pg_stat_reset": true, "pg_stat_reset_shared": true, "pg_stat_reset_single_table_counters": true,
}

func changesState(call funcCall) bool {
	if _, ok := dangerousFunction(call.name); ok {
		return true
	}
	return (call.schema == "" || call.schema == "pg_catalog") && sideEffectFunctions[call.name]
}

// applyVolatility makes a read that calls a VOLATILE (or unknown) function a write.
func (a *Analyzer) applyVolatility(ctx context.Context, s *Statement, calls []funcCall) error {
	seen := map[string]bool{}
	for _, call := range calls {
		key := call.schema + "." + call.name
		if seen[key] {
			continue
		}
		seen[key] = true
		vol, err := a.Catalog.Volatility(ctx, call.schema, call.name)
		if err != nil {
			return fmt.Errorf("sqlguard: volatility of %s: %w", call, err)
		}
		var warning string
		switch vol {
		case Volatile:
			warning = fmt.Sprintf("calls %s, which is VOLATILE and may change data: counted as a write", call)
		case VolatilityUnknown:
			warning = fmt.Sprintf("calls %s, which does not exist yet: counted as a write", call)
		default:
			continue
		}
		s.Kind = KindWrite
		if !slices.Contains(s.Warnings, warning) {
			s.Warnings = append(s.Warnings, warning)
		}
	}
	return nil
}
