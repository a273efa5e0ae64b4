package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisPresence is the PresenceStore of a cluster. Keys (all under the prefix):
//
//	presence:<topic>       hash: entry ID → entry JSON
//	presence-topics:<node> set: the topics where the node has entries
//	presence-nodes         sorted set: node → when it last said it was alive (unix ms)
//
// A node that stops refreshing its liveness for longer than ttl is taken for dead, and the
// other nodes remove its entries.
type redisPresence struct {
	client redis.UniversalClient
	prefix string
	node   string
	ttl    time.Duration
	logger *slog.Logger
}

var (
	_ PresenceStore  = (*redisPresence)(nil)
	_ presenceReaper = (*redisPresence)(nil)
)

func newRedisPresence(client redis.UniversalClient, prefix, node string, ttl time.Duration, logger *slog.Logger) *redisPresence {
	return &redisPresence{client: client, prefix: prefix, node: node, ttl: ttl, logger: logger}
}

func (r *redisPresence) topicKey(topic string) string { return r.prefix + "presence:" + topic }
func (r *redisPresence) nodeKey(node string) string   { return r.prefix + "presence-topics:" + node }
func (r *redisPresence) nodesKey() string             { return r.prefix + "presence-nodes" }

func (r *redisPresence) Track(ctx context.Context, topic string, e PresenceEntry) (*PresenceEntry, error) {
	encoded, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var prev *redis.StringCmd
	_, err = r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		prev = p.HGet(ctx, r.topicKey(topic), e.ID)
		p.HSet(ctx, r.topicKey(topic), e.ID, encoded)
		p.SAdd(ctx, r.nodeKey(e.Node()), topic)
		p.ZAdd(ctx, r.nodesKey(), redis.Z{Score: float64(time.Now().UnixMilli()), Member: e.Node()})
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis presence track: %w", err)
	}
	return decodeEntry(prev)
}

func (r *redisPresence) Untrack(ctx context.Context, topic, id string) (*PresenceEntry, error) {
	var (
		prev    *redis.StringCmd
		removed *redis.IntCmd
	)
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		prev = p.HGet(ctx, r.topicKey(topic), id)
		removed = p.HDel(ctx, r.topicKey(topic), id)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis presence untrack: %w", err)
	}
	if removed.Val() == 0 {
		return nil, nil
	}
	return decodeEntry(prev)
}

func (r *redisPresence) List(ctx context.Context, topic string) ([]PresenceEntry, error) {
	all, err := r.client.HGetAll(ctx, r.topicKey(topic)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis presence list: %w", err)
	}
	out := make([]PresenceEntry, 0, len(all))
	for _, raw := range all {
		var e PresenceEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("redis presence list: %w", err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b PresenceEntry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func decodeEntry(cmd *redis.StringCmd) (*PresenceEntry, error) {
	raw, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis presence: %w", err)
	}
	var e PresenceEntry
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return nil, fmt.Errorf("redis presence: %w", err)
	}
	return &e, nil
}

// Run refreshes this node's liveness three times per ttl and reaps dead nodes' entries.
func (r *redisPresence) Run(ctx context.Context, gone func(topic string, entries []PresenceEntry)) error {
	ticker := time.NewTicker(r.ttl / 3)
	defer ticker.Stop()
	for {
		if err := r.heartbeat(ctx); err != nil && ctx.Err() == nil {
			r.logger.WarnContext(ctx, "realtime: refreshing presence liveness in redis failed", "error", err)
		}
		if err := r.reap(ctx, gone); err != nil && ctx.Err() == nil {
			r.logger.WarnContext(ctx, "realtime: removing presence of stopped nodes failed", "error", err)
		}
		select {
		case <-ctx.Done():
			// The connections of this node untracked their entries as they closed.
			_ = r.client.ZRem(context.WithoutCancel(ctx), r.nodesKey(), r.node).Err()
			return nil
		case <-ticker.C:
		}
	}
}

func (r *redisPresence) heartbeat(ctx context.Context) error {
	return r.client.ZAdd(ctx, r.nodesKey(), redis.Z{Score: float64(time.Now().UnixMilli()), Member: r.node}).Err()
}

func (r *redisPresence) reap(ctx context.Context, gone func(topic string, entries []PresenceEntry)) error {
	cutoff := time.Now().Add(-r.ttl).UnixMilli()
	dead, err := r.client.ZRangeByScore(ctx, r.nodesKey(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(cutoff, 10)}).Result()
	if err != nil {
		return err
	}
	for _, node := range dead {
		if node == r.node {
			continue
		}
		topics, err := r.client.SMembers(ctx, r.nodeKey(node)).Result()
		if err != nil {
			return err
		}
		for _, topic := range topics {
			removed, err := r.removeNodeEntries(ctx, topic, node)
			if err != nil {
				return err
			}
			if len(removed) > 0 {
				r.logger.InfoContext(ctx, "realtime: removed the presence of a stopped node", "node", node, "topic", topic, "entries", len(removed))
				gone(topic, removed)
			}
		}
		if err := r.client.Del(ctx, r.nodeKey(node)).Err(); err != nil {
			return err
		}
		if err := r.client.ZRem(ctx, r.nodesKey(), node).Err(); err != nil {
			return err
		}
	}
	return nil
}

// removeNodeEntries deletes node's entries of topic and returns the ones this call deleted,
// so that when several nodes reap at once each leave is announced once.
func (r *redisPresence) removeNodeEntries(ctx context.Context, topic, node string) ([]PresenceEntry, error) {
	var removed []PresenceEntry
	iter := r.client.HScan(ctx, r.topicKey(topic), 0, escapeGlob(node)+"/*", 100).Iterator()
	var fields, values []string
	for iter.Next(ctx) {
		if len(fields) == len(values) {
			fields = append(fields, iter.Val())
		} else {
			values = append(values, iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	for i, field := range fields {
		n, err := r.client.HDel(ctx, r.topicKey(topic), field).Result()
		if err != nil {
			return nil, err
		}
		var e PresenceEntry
		if n == 1 && i < len(values) && json.Unmarshal([]byte(values[i]), &e) == nil {
			removed = append(removed, e)
		}
	}
	return removed, nil
}

// escapeGlob escapes the characters Redis patterns give a meaning to.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
