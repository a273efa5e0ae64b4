package realtime

import "net/netip"

// TableIPs is the table IP allow-lists of table security configs (internal/tablesecurity's
// Registry). A table's policies refuse clients outside its allow-list in requests, but
// realtime checks rows after the fact, on its own connection, where the subscriber's
// address is not known: so a binding to such a table is refused at join instead.
type TableIPs interface {
	TableAllowsIP(schema, table string, addr netip.Addr) bool
}

// ipProblem is the problem of binding b on a connection from addr: "" when its table admits
// the address (or when no allow-list applies).
func (d *changeDispatcher) ipProblem(b *binding, addr netip.Addr) string {
	if d.svc.tableIPs == nil || b.schema == "*" || b.table == "" || b.table == "*" {
		return ""
	}
	if d.svc.tableIPs.TableAllowsIP(b.schema, b.table, addr) {
		return ""
	}
	return "Unable to subscribe to changes of " + b.schema + "." + b.table + ": your IP address is not allowed to access this table"
}
