package db

import (
	"container/list"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
)

// StatementCacheSize is how many request statements RunInRole keeps prepared on each
// connection. A REST API has few statement shapes (values are bind parameters, so only the
// shape of select, filters and order matters), and every prepared statement holds its plan in
// the backend's memory, so the least recently used one is deallocated past this.
const StatementCacheSize = 128

// statementCacheKey is where a connection's statementCache lives in its CustomData.
const statementCacheKey = "goforward.statements"

// statementGeneration is shared by a RoleRunner and every connection's cache: bumping it
// (ForgetPreparedStatements) makes each connection deallocate what it prepared before.
type statementGeneration struct{ n atomic.Uint64 }

// statementKey identifies a prepared statement: the role is part of it so that a statement
// is only ever executed by the role it was parsed as (the schema USAGE checked at parse time
// is that role's).
type statementKey struct {
	role string
	sql  string
}

// statementCache is one connection's prepared request statements, most recently used first,
// and the ones waiting to be deallocated. A connection is used by one request at a time, so it
// needs no lock. Only what PostgreSQL confirmed is recorded: a PREPARE that did not run (an
// earlier statement failed) is not cached, and a DEALLOCATE that did not run is tried again.
type statementCache struct {
	generation uint64
	entries    map[statementKey]*list.Element // values are *cachedStatement
	order      *list.List
	doomed     []string // prepared, no longer cached, not yet deallocated
	nextID     uint64
}

type cachedStatement struct {
	key  statementKey
	name string
}

// statementsOf returns conn's cache, creating it on first use. After
// ForgetPreparedStatements, every statement the connection prepared before is doomed.
func statementsOf(conn *pgconn.PgConn, gen *statementGeneration) *statementCache {
	data := conn.CustomData()
	cache, _ := data[statementCacheKey].(*statementCache)
	current := gen.n.Load()
	if cache == nil {
		cache = &statementCache{generation: current, entries: map[statementKey]*list.Element{}, order: list.New()}
		data[statementCacheKey] = cache
		return cache
	}
	if cache.generation != current {
		for e := cache.order.Front(); e != nil; e = e.Next() {
			cache.doomed = append(cache.doomed, e.Value.(*cachedStatement).name)
		}
		cache.generation = current
		clear(cache.entries)
		cache.order.Init()
	}
	return cache
}

// lookup returns the name of the statement prepared for key, marking it most recently used.
func (c *statementCache) lookup(key statementKey) (string, bool) {
	e, ok := c.entries[key]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cachedStatement).name, true
}

// newName returns a name no statement on this connection has had.
func (c *statementCache) newName() string {
	c.nextID++
	return "goforward_q" + strconv.FormatUint(c.nextID, 10)
}

// makeRoom dooms the least recently used statements so that n more fit in
// StatementCacheSize.
func (c *statementCache) makeRoom(n int) {
	for c.order.Len() > 0 && c.order.Len()+n > StatementCacheSize {
		s := c.order.Remove(c.order.Back()).(*cachedStatement)
		delete(c.entries, s.key)
		c.doomed = append(c.doomed, s.name)
	}
}

// prepared records that PREPARE of key as name succeeded.
func (c *statementCache) prepared(key statementKey, name string) {
	c.entries[key] = c.order.PushFront(&cachedStatement{key: key, name: name})
}

// deallocated records that DEALLOCATE of name succeeded.
func (c *statementCache) deallocated(name string) {
	c.doomed = slices.DeleteFunc(c.doomed, func(d string) bool { return d == name })
}
