package config

import "time"

// RealtimeConfig configures the realtime service. Its limits mirror Supabase Realtime's
// per-project settings (max_channels_per_client, max_events_per_second, …).
type RealtimeConfig struct {
	HeartbeatTimeout         time.Duration                 `koanf:"heartbeat_timeout" doc:"A WebSocket that sends nothing (realtime-js sends a heartbeat every 25s) for this long is closed."`
	SendQueueSize            int                           `koanf:"send_queue_size" doc:"Messages waiting to be written to one WebSocket; a client that falls this far behind is disconnected rather than slowing the others."`
	MaxConnectionsPerKey     int                           `koanf:"max_connections_per_key" doc:"WebSockets one apikey may hold open on this node; further ones are refused with 429 \"Too many connected users\"."`
	MaxConnectionsPerIP      int                           `koanf:"max_connections_per_ip" doc:"WebSockets one client address (an IPv6 /64) may hold open on this node, so one client cannot take every connection of the anon key; further ones are refused with 429. Behind a proxy, set server.trusted_proxies. 0 turns the limit off."`
	MaxChannelsPerConnection int                           `koanf:"max_channels_per_connection" doc:"Channels one WebSocket may join (Supabase's max_channels_per_client)."`
	MaxBindingsPerChannel    int                           `koanf:"max_bindings_per_channel" doc:"postgres_changes bindings one channel join may carry; a join with more is refused."`
	MaxPresenceBytes         int64                         `koanf:"max_presence_bytes_per_connection" doc:"Presence state (keys and tracked states) one WebSocket may hold over all its channels, in bytes; a track beyond it is refused."`
	MessagesPerSecond        float64                       `koanf:"messages_per_second" doc:"Joins, token refreshes, broadcasts and presence messages one WebSocket may send per second (bursts of twice that); a channel that exceeds it is closed with \"Too many messages per second\", a join beyond it disconnects the socket."`
	MaxMessageBytes          int64                         `koanf:"max_message_bytes" doc:"Largest WebSocket message, broadcast payload or presence state accepted, in bytes."`
	RedisChannelPrefix       string                        `koanf:"redis_channel_prefix" doc:"Prefix of the Redis pub/sub channels and keys realtime uses when redis.url is set; deployments sharing one Redis need different prefixes."`
	PostgresChanges          RealtimePostgresChangesConfig `koanf:"postgres_changes" doc:"Database changes streamed to subscribers through logical replication."`
}

// RealtimePostgresChangesConfig configures the replication reader behind postgres_changes.
type RealtimePostgresChangesConfig struct {
	Enabled          bool          `koanf:"enabled" doc:"Read the logical replication stream and deliver postgres_changes; needs wal_level=logical and a database role with REPLICATION (the managed cluster has both)."`
	Publication      string        `koanf:"publication" doc:"Publication whose tables are streamed (alter publication supabase_realtime add table ...)."`
	Slot             string        `koanf:"slot" doc:"Name of the permanent logical replication slot; empty derives goforward_realtime_<database>. Nodes sharing a database share it."`
	MaxRecordBytes   int           `koanf:"max_record_bytes" doc:"A change whose record is larger is delivered with only the values of at most 64 bytes and the error \"Error 413: Payload Too Large\"."`
	LagAlertBytes    int64         `koanf:"lag_alert_bytes" doc:"WAL held back by the slot above which a warning is logged at every check; 0 turns the warning off."`
	MaxLagBytes      int64         `koanf:"max_lag_bytes" doc:"WAL held back by the slot above which it is dropped and recreated so PostgreSQL can free the disk; the changes in between are lost. 0 never drops."`
	LagCheckEvery    time.Duration `koanf:"lag_check_every" doc:"How often the reading node measures the slot's lag."`
	MaxQueuedChanges int           `koanf:"max_queued_changes" doc:"Changes waiting for delivery on one node; beyond it the oldest are dropped and their subscribers get a system message saying so."`
	MaxDelay         time.Duration `koanf:"max_delay" doc:"Longest a change may wait for delivery on one node; older ones are dropped and their subscribers get a system message saying so, so an overloaded node delivers late by a bounded time."`
}

func defaultRealtime() RealtimeConfig {
	return RealtimeConfig{
		HeartbeatTimeout:         60 * time.Second,
		SendQueueSize:            1024,
		MaxConnectionsPerKey:     10000,
		MaxConnectionsPerIP:      100,
		MaxChannelsPerConnection: 100,
		MaxBindingsPerChannel:    100,
		MaxPresenceBytes:         1 << 20,
		MessagesPerSecond:        100,
		MaxMessageBytes:          1 << 20,
		RedisChannelPrefix:       "goforward:realtime:",
		PostgresChanges: RealtimePostgresChangesConfig{
			Enabled:          true,
			Publication:      "supabase_realtime",
			MaxRecordBytes:   1 << 20,
			LagAlertBytes:    256 << 20,
			MaxLagBytes:      4 << 30,
			LagCheckEvery:    30 * time.Second,
			MaxQueuedChanges: 4096,
			MaxDelay:         2 * time.Second,
		},
	}
}

func validateRealtime(errs *fieldErrors, r RealtimeConfig) {
	positive(errs, "realtime.heartbeat_timeout", r.HeartbeatTimeout)
	atLeastOne := func(field string, v int) {
		if v < 1 {
			errs.add(field, "must be at least 1", v)
		}
	}
	atLeastOne("realtime.send_queue_size", r.SendQueueSize)
	atLeastOne("realtime.max_connections_per_key", r.MaxConnectionsPerKey)
	atLeastOne("realtime.max_channels_per_connection", r.MaxChannelsPerConnection)
	atLeastOne("realtime.max_bindings_per_channel", r.MaxBindingsPerChannel)
	if r.MaxConnectionsPerIP < 0 {
		errs.add("realtime.max_connections_per_ip", "must not be negative (0 turns the limit off)", r.MaxConnectionsPerIP)
	}
	if r.MaxPresenceBytes < 1024 {
		errs.add("realtime.max_presence_bytes_per_connection", "must be at least 1024", r.MaxPresenceBytes)
	}
	if r.MessagesPerSecond <= 0 {
		errs.add("realtime.messages_per_second", "must be greater than 0", r.MessagesPerSecond)
	}
	if r.MaxMessageBytes < 1024 {
		errs.add("realtime.max_message_bytes", "must be at least 1024", r.MaxMessageBytes)
	}
	if r.RedisChannelPrefix == "" {
		errs.add("realtime.redis_channel_prefix", "must not be empty", r.RedisChannelPrefix)
	}
	pc := r.PostgresChanges
	if pc.Publication == "" {
		errs.add("realtime.postgres_changes.publication", "must not be empty", pc.Publication)
	}
	if pc.Slot != "" && !validSlotName(pc.Slot) {
		errs.add("realtime.postgres_changes.slot", "must be 1-63 lower-case letters, digits or underscores", pc.Slot)
	}
	atLeastOne("realtime.postgres_changes.max_record_bytes", pc.MaxRecordBytes)
	if pc.LagAlertBytes < 0 {
		errs.add("realtime.postgres_changes.lag_alert_bytes", "must not be negative (0 turns the warning off)", pc.LagAlertBytes)
	}
	if pc.MaxLagBytes < 0 {
		errs.add("realtime.postgres_changes.max_lag_bytes", "must not be negative (0 never drops the slot)", pc.MaxLagBytes)
	}
	positive(errs, "realtime.postgres_changes.lag_check_every", pc.LagCheckEvery)
	atLeastOne("realtime.postgres_changes.max_queued_changes", pc.MaxQueuedChanges)
	positive(errs, "realtime.postgres_changes.max_delay", pc.MaxDelay)
}

func validSlotName(s string) bool {
	if len(s) > 63 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
