package sqlguard

import (
	"container/list"
	"sync"
)

// A dashboard and the programs behind it send the same few queries over and over, and parsing
// is most of what classifying costs (two passes through the C parser, and the parse tree's
// protobuf decoding). Since a request's classification depends on its text alone (the
// catalog's volatility is asked afresh every time), recent results are kept: a bounded LRU
// of requests up to cacheMaxSQL bytes, about a megabyte at most.
const (
	cacheEntries = 512
	cacheMaxSQL  = 2048
)

var cache = newLRU(cacheEntries)

// classified is classify through the cache. The parts it returns are shared: callers copy
// what they change.
func classified(sql string) ([]part, error) {
	if len(sql) > cacheMaxSQL {
		return classify(sql)
	}
	if parts, ok := cache.get(sql); ok {
		return parts, nil
	}
	parts, err := classify(sql)
	if err == nil {
		cache.put(sql, parts)
	}
	return parts, err
}

type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used; values are *lruEntry
	items map[string]*list.Element
}

type lruEntry struct {
	sql   string
	parts []part
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[string]*list.Element, max)}
}

func (c *lru) get(sql string) ([]part, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[sql]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).parts, true
}

func (c *lru) put(sql string, parts []part) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[sql]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[sql] = c.order.PushFront(&lruEntry{sql: sql, parts: parts})
	if c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry).sql)
	}
}
