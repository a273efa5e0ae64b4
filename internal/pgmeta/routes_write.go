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
	}
}
