package pgmeta

// writeRoutes are the create, update and delete routes: each runs its DDL in one
// transaction with its audit entry and takes can_manage_database.
func (s *Service) writeRoutes() []route {
	return []route{
		{method: "POST", path: "/tables", need: needWrite, handler: s.createTable},
		{method: "PATCH", path: "/tables/{id}", need: needWrite, handler: s.updateTable},
		{method: "DELETE", path: "/tables/{id}", need: needWrite, handler: s.deleteTable},
		{method: "POST", path: "/columns", need: needWrite, handler: s.createColumn},
		{method: "PATCH", path: "/columns/{id}", need: needWrite, handler: s.updateColumn},
		{method: "DELETE", path: "/columns/{id}", need: needWrite, handler: s.deleteColumn},
		{method: "POST", path: "/schemas", need: needWrite, handler: s.createSchema},
		{method: "PATCH", path: "/schemas/{id}", need: needWrite, handler: s.updateSchema},
		{method: "DELETE", path: "/schemas/{id}", need: needWrite, handler: s.deleteSchema},
		{method: "POST", path: "/extensions", need: needWrite, handler: s.createExtension},
		{method: "PATCH", path: "/extensions/{id}", need: needWrite, handler: s.updateExtension},
		{method: "DELETE", path: "/extensions/{id}", need: needWrite, handler: s.deleteExtension},
		{method: "POST", path: "/policies", need: needWrite, handler: s.createPolicy},
		{method: "PATCH", path: "/policies/{id}", need: needWrite, handler: s.updatePolicy},
		{method: "DELETE", path: "/policies/{id}", need: needWrite, handler: s.deletePolicy},
		{method: "POST", path: "/triggers", need: needWrite, handler: s.createTrigger},
		{method: "PATCH", path: "/triggers/{id}", need: needWrite, handler: s.updateTrigger},
		{method: "DELETE", path: "/triggers/{id}", need: needWrite, handler: s.deleteTrigger},
		{method: "POST", path: "/functions", need: needWrite, handler: s.createFunction},
		{method: "PATCH", path: "/functions/{id}", need: needWrite, handler: s.updateFunction},
		{method: "DELETE", path: "/functions/{id}", need: needWrite, handler: s.deleteFunction},
		{method: "POST", path: "/publications", need: needWrite, handler: s.createPublication},
		{method: "PATCH", path: "/publications/{id}", need: needWrite, handler: s.updatePublication},
		{method: "DELETE", path: "/publications/{id}", need: needWrite, handler: s.deletePublication},
		{method: "POST", path: "/roles", need: needWrite, handler: s.createRole},
		{method: "PATCH", path: "/roles/{id}", need: needWrite, handler: s.updateRole},
		{method: "DELETE", path: "/roles/{id}", need: needWrite, handler: s.deleteRole},
		{method: "POST", path: "/indexes", need: needWrite, handler: s.createIndex},
		{method: "PATCH", path: "/indexes/{id}", need: needWrite, handler: s.updateIndex},
		{method: "DELETE", path: "/indexes/{id}", need: needWrite, handler: s.deleteIndex},
		{method: "POST", path: "/relationships", need: needWrite, handler: s.createRelationship},
	}
}
