package sqlguard

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// specific gives a statement its kind and the classes that depend on its own type; what is
// nested anywhere inside it is added by statement from the walk. Statement types not named
// here are DDL: a type PostgreSQL adds later is never taken for a read.
func (c checker) specific(node *pg_query.Node, text string) verdict {
	v := verdict{kind: KindDDL}
	switch n := node.GetNode().(type) {
	// Reads (the walk turns them into writes when they lock rows or hold a DML).
	case *pg_query.Node_SelectStmt:
		v.kind = KindRead
		if n.SelectStmt.GetIntoClause() != nil {
			v.kind = KindDDL // SELECT ... INTO creates a table
		}
	case *pg_query.Node_VariableShowStmt:
		v.kind = KindRead
	case *pg_query.Node_FetchStmt:
		v.kind = KindRead
	case *pg_query.Node_PrepareStmt:
		// What PREPARE stores is what EXECUTE runs later, and only it can be checked.
		inner := c.statement(n.PrepareStmt.GetQuery(), text)
		inner.warn("PREPARE stores the statement; EXECUTE runs it")
		return inner
	case *pg_query.Node_DeclareCursorStmt:
		return c.statement(n.DeclareCursorStmt.GetQuery(), text)

	// Writes.
	case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt,
		*pg_query.Node_MergeStmt, *pg_query.Node_CallStmt, *pg_query.Node_NotifyStmt,
		*pg_query.Node_LockStmt, *pg_query.Node_RefreshMatViewStmt:
		v.kind = KindWrite
	case *pg_query.Node_ExecuteStmt:
		v.kind = KindWrite
		v.warn("EXECUTE runs a prepared statement whose text is not part of this request")
	case *pg_query.Node_TruncateStmt:
		v.kind = KindWrite
		v.add(ClassTruncate, "TRUNCATE removes every row of "+relationList(n.TruncateStmt.GetRelations()))
	case *pg_query.Node_CopyStmt:
		c.copy(&v, n.CopyStmt)
	case *pg_query.Node_DoStmt:
		v.kind = KindWrite
		v.add(ClassDoBlock, "a DO block runs code at once")
		c.doBlock(&v, n.DoStmt, text)

	// Transaction control.
	case *pg_query.Node_TransactionStmt, *pg_query.Node_ConstraintsSetStmt:
		v.kind = KindTransaction
	case *pg_query.Node_VariableSetStmt:
		c.set(&v, n.VariableSetStmt)

	// The session.
	case *pg_query.Node_ListenStmt, *pg_query.Node_UnlistenStmt, *pg_query.Node_DeallocateStmt,
		*pg_query.Node_ClosePortalStmt:
		v.kind = KindSession
	case *pg_query.Node_DiscardStmt:
		v.kind = KindSession
		if n.DiscardStmt.GetTarget() == pg_query.DiscardMode_DISCARD_ALL {
			v.add(ClassSetRole, "DISCARD ALL resets the session's role to the one it logged in as")
		}
	case *pg_query.Node_LoadStmt:
		v.kind = KindSession
		v.add(ClassLoadLibrary, "LOAD loads a shared library into the database server")

	// Maintenance.
	case *pg_query.Node_VacuumStmt, *pg_query.Node_ClusterStmt, *pg_query.Node_ReindexStmt,
		*pg_query.Node_CheckPointStmt:
		v.kind = KindMaintenance

	// Privileges.
	case *pg_query.Node_GrantStmt, *pg_query.Node_AlterDefaultPrivilegesStmt,
		*pg_query.Node_AlterOwnerStmt, *pg_query.Node_ReassignOwnedStmt:
		v.kind = KindPrivilege
	case *pg_query.Node_GrantRoleStmt:
		v.kind = KindPrivilege
		if n.GrantRoleStmt.GetIsGrant() {
			for _, r := range n.GrantRoleStmt.GetGrantedRoles() {
				grantedRole(&v, r.GetAccessPriv().GetPrivName())
			}
		}
	case *pg_query.Node_CreateRoleStmt:
		v.kind = KindPrivilege
		roleOptions(&v, n.CreateRoleStmt.GetRole(), n.CreateRoleStmt.GetOptions())
	case *pg_query.Node_AlterRoleStmt:
		v.kind = KindPrivilege
		roleOptions(&v, roleName(n.AlterRoleStmt.GetRole()), n.AlterRoleStmt.GetOptions())
	case *pg_query.Node_AlterRoleSetStmt:
		v.kind = KindPrivilege
		c.storedSetting(&v, n.AlterRoleSetStmt.GetSetstmt())
	case *pg_query.Node_DropRoleStmt:
		v.kind = KindPrivilege
		v.add(ClassDrop, "DROP ROLE removes roles for good")
	case *pg_query.Node_DropOwnedStmt:
		v.kind = KindPrivilege
		v.add(ClassDrop, "DROP OWNED drops every object the roles own, with their data")

	// DDL with dangers of its own.
	case *pg_query.Node_DropStmt:
		v.add(ClassDrop, dropWarning(n.DropStmt))
	case *pg_query.Node_DropdbStmt:
		v.add(ClassDrop, "DROP DATABASE removes the database "+n.DropdbStmt.GetDbname()+" and all its data for good")
	case *pg_query.Node_DropTableSpaceStmt, *pg_query.Node_DropUserMappingStmt,
		*pg_query.Node_DropSubscriptionStmt:
		v.add(ClassDrop, "DROP removes the object for good")
	case *pg_query.Node_AlterTableStmt:
		alterTable(&v, n.AlterTableStmt)
	case *pg_query.Node_AlterSystemStmt:
		v.add(ClassAlterSystem, "ALTER SYSTEM changes the server's configuration (postgresql.auto.conf)")
		c.storedSetting(&v, n.AlterSystemStmt.GetSetstmt())
	case *pg_query.Node_AlterDatabaseSetStmt:
		c.storedSetting(&v, n.AlterDatabaseSetStmt.GetSetstmt())
	case *pg_query.Node_CreateFunctionStmt:
		c.function(&v, n.CreateFunctionStmt, text)
	case *pg_query.Node_AlterFunctionStmt:
		for _, o := range n.AlterFunctionStmt.GetActions() {
			if d := o.GetDefElem(); d.GetDefname() == "security" && defTrue(d) {
				v.warn("the function will run with its owner's privileges (SECURITY DEFINER)")
			}
		}
	case *pg_query.Node_CreateSubscriptionStmt:
		v.add(ClassRemoteConnection, "CREATE SUBSCRIPTION connects from the database server to another server")
	case *pg_query.Node_CreateForeignServerStmt:
		v.add(ClassRemoteConnection, "a foreign server lets the database server connect to another server")
	case *pg_query.Node_ImportForeignSchemaStmt:
		v.add(ClassRemoteConnection, "IMPORT FOREIGN SCHEMA connects from the database server to another server")
	case *pg_query.Node_CreateForeignTableStmt:
		foreignOptions(&v, n.CreateForeignTableStmt.GetOptions())
	case *pg_query.Node_CreateExtensionStmt:
		if class, ok := dangerousExtensions[n.CreateExtensionStmt.GetExtname()]; ok {
			v.add(class, "the extension "+n.CreateExtensionStmt.GetExtname()+" "+extensionDanger[class])
		}
	case *pg_query.Node_CreatePlangStmt:
		v.add(ClassUncheckedLanguage, "the language "+n.CreatePlangStmt.GetPlname()+" runs code that cannot be checked here")
	}
	return v
}

// dangerousExtensions reach files, programs or other servers once installed.
var dangerousExtensions = map[string]Class{
	"adminpack": ClassFileAccess, "file_fdw": ClassFileAccess,
	"dblink": ClassRemoteConnection, "postgres_fdw": ClassRemoteConnection, "http": ClassRemoteConnection,
	"pg_net":     ClassRemoteConnection,
	"plpython3u": ClassUncheckedLanguage, "plperlu": ClassUncheckedLanguage, "pltclu": ClassUncheckedLanguage,
}

var extensionDanger = map[Class]string{
	ClassFileAccess:        "reads or writes files on the database server",
	ClassRemoteConnection:  "connects from the database server to other servers",
	ClassUncheckedLanguage: "runs code that cannot be checked here",
}

// foreignOptions reads a foreign table's options: file_fdw reads filename, or runs program.
func foreignOptions(v *verdict, options []*pg_query.Node) {
	for _, o := range options {
		d := o.GetDefElem()
		value := d.GetArg().GetString_().GetSval()
		switch d.GetDefname() {
		case "filename":
			v.add(ClassFileAccess, fmt.Sprintf("the foreign table reads the file %q on the database server", value))
		case "program":
			v.add(ClassCopyProgram, fmt.Sprintf("the foreign table runs the shell command %q on the database server", value))
		}
	}
}

func (c checker) copy(v *verdict, cp *pg_query.CopyStmt) {
	switch {
	case cp.GetIsFrom():
		v.kind = KindWrite
	case cp.GetQuery() != nil:
		inner := c.statement(cp.GetQuery(), "")
		v.kind = inner.kind
	default:
		v.kind = KindRead
	}
	switch {
	case cp.GetIsProgram():
		v.kind = KindWrite
		v.add(ClassCopyProgram, fmt.Sprintf("COPY ... PROGRAM runs the shell command %q on the database server", cp.GetFilename()))
	case cp.GetFilename() != "":
		if !cp.GetIsFrom() {
			v.kind = KindWrite // it writes a file on the server
		}
		v.add(ClassCopyFile, fmt.Sprintf("COPY reads or writes the file %q on the database server", cp.GetFilename()))
	}
}

// set is SET/RESET: transaction settings are transaction control (in a read-only
// transaction they would lift it), the role and the parser's settings are dangerous.
func (c checker) set(v *verdict, s *pg_query.VariableSetStmt) {
	v.kind = KindSession
	if s.GetKind() == pg_query.VariableSetKind_VAR_RESET_ALL {
		return // RESET ALL leaves role and session_authorization alone
	}
	name := strings.ToLower(s.GetName())
	switch name {
	case "transaction", "session characteristics", "transaction_read_only",
		"default_transaction_read_only", "transaction_isolation", "transaction_deferrable":
		v.kind = KindTransaction
		return
	}
	what := "SET " + name
	if s.GetKind() == pg_query.VariableSetKind_VAR_RESET {
		what = "RESET " + name
	}
	if name == "standard_conforming_strings" || name == "client_encoding" {
		if value, ok := setValue(s); ok && safeParserValue(name, value) {
			return
		}
	}
	c.setting(v, name, what)
}

// storedSetting is ALTER ROLE/DATABASE/SYSTEM ... SET: the setting applies to later
// sessions.
func (c checker) storedSetting(v *verdict, s *pg_query.VariableSetStmt) {
	if s == nil || s.GetKind() == pg_query.VariableSetKind_VAR_RESET_ALL {
		return
	}
	name := strings.ToLower(s.GetName())
	if name == "standard_conforming_strings" || name == "client_encoding" {
		if value, ok := setValue(s); ok && safeParserValue(name, value) {
			return
		}
	}
	c.setting(v, name, "the stored setting "+name)
}

func setValue(s *pg_query.VariableSetStmt) (string, bool) {
	if s.GetKind() != pg_query.VariableSetKind_VAR_SET_VALUE || len(s.GetArgs()) != 1 {
		return "", false
	}
	return stringArg(s.GetArgs()[0])
}

func safeParserValue(name, value string) bool {
	value = strings.ToLower(value)
	if name == "client_encoding" {
		return value == "utf8" || value == "utf-8" || value == "unicode"
	}
	return value == "on" || value == "true" || value == "yes" || value == "1"
}

// powerfulRoles reach files, programs, every row, or the owner's powers; membership in them
// is as good as the power itself.
var powerfulRoles = map[string]string{
	"pg_read_server_files":      "reads any file on the database server",
	"pg_write_server_files":     "writes any file on the database server",
	"pg_execute_server_program": "runs programs on the database server",
	"pg_read_all_data":          "reads every table, past row level security",
	"pg_write_all_data":         "writes every table, past row level security",
	"pg_signal_backend":         "cancels and terminates other sessions",
	"pg_checkpoint":             "forces checkpoints",
	"pg_create_subscription":    "connects the server to other servers",
	"postgres":                  "owns the database",
	"supabase_admin":            "owns the database",
	"service_role":              "bypasses row level security",
	"authenticator":             "can switch into every API role, service_role included",
}

func grantedRole(v *verdict, role string) {
	if what, ok := powerfulRoles[role]; ok {
		v.add(ClassGrantPowerfulRole, fmt.Sprintf("grants membership in %s, which %s", role, what))
	}
}

func roleName(r *pg_query.RoleSpec) string {
	if r.GetRolename() != "" {
		return r.GetRolename()
	}
	return strings.ToLower(strings.TrimPrefix(r.GetRoletype().String(), "ROLESPEC_"))
}

func roleOptions(v *verdict, role string, options []*pg_query.Node) {
	for _, o := range options {
		d := o.GetDefElem()
		switch d.GetDefname() {
		case "superuser":
			if defTrue(d) {
				v.add(ClassRoleSuperuser, "gives "+role+" SUPERUSER: it can do anything, read server files and run programs included")
			}
		case "bypassrls":
			if defTrue(d) {
				v.add(ClassRoleBypassRLS, "gives "+role+" BYPASSRLS: row level security no longer applies to it")
			}
		case "isreplication":
			if defTrue(d) {
				v.add(ClassRoleReplication, "gives "+role+" REPLICATION: it can stream every row of every table, past row level security")
			}
		case "addroleto":
			for _, r := range d.GetArg().GetList().GetItems() {
				grantedRole(v, r.GetRoleSpec().GetRolename())
			}
		case "password":
			v.warn("sets a password: the statement's text holds it, so keep the text out of logs")
		}
	}
}

func alterTable(v *verdict, at *pg_query.AlterTableStmt) {
	table := relationName(at.GetRelation())
	for _, c := range at.GetCmds() {
		cmd := c.GetAlterTableCmd()
		switch cmd.GetSubtype() {
		case pg_query.AlterTableType_AT_DropColumn:
			v.add(ClassDrop, fmt.Sprintf("DROP COLUMN removes %s.%s and its data for good", table, cmd.GetName()))
		case pg_query.AlterTableType_AT_DisableRowSecurity:
			v.add(ClassDisableRLS, "turns row level security off for "+table+": its policies stop applying")
		case pg_query.AlterTableType_AT_NoForceRowSecurity:
			v.add(ClassDisableRLS, "stops forcing row level security on "+table+"'s owner")
		}
	}
}

func dropWarning(d *pg_query.DropStmt) string {
	what := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(d.GetRemoveType().String(), "OBJECT_"), "_", " "))
	var objects []string
	for _, o := range d.GetObjects() {
		if list := o.GetList(); list != nil {
			if name := names(list.GetItems()); name != "" {
				objects = append(objects, name)
			}
		} else if s := o.GetString_(); s != nil {
			objects = append(objects, s.GetSval())
		}
	}
	if len(objects) == 0 {
		return "DROP " + strings.ToUpper(what) + " removes it for good"
	}
	return fmt.Sprintf("DROP %s removes %s for good", strings.ToUpper(what), strings.Join(objects, ", "))
}

func relationList(rels []*pg_query.Node) string {
	var out []string
	for _, r := range rels {
		out = append(out, relationName(r.GetRangeVar()))
	}
	return strings.Join(out, ", ")
}
