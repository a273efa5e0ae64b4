// Package meta introspects the PostgreSQL schema that the HTTP services expose: tables,
// views, columns, keys, the relationships between tables that foreign keys imply, and
// functions. The REST service plans every request against a Schema, so no identifier from a
// request reaches SQL unless it names something that exists here.
//
// An Inspector keeps the current Schema and rebuilds it when PostgreSQL announces a change
// (NOTIFY pgrst, 'reload schema', sent by the event triggers of migration 0003 after any
// DDL); the new Schema replaces the old one in one atomic step, so readers never see a
// half-built cache.
package meta
