package realtime

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/goforward/goforward/internal/realtime/replication"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultHeartbeatTimeout         = 60 * time.Second
	DefaultWriteTimeout             = 10 * time.Second
	DefaultSendQueueSize            = 1024
	DefaultMaxConnectionsPerKey     = 10000
	DefaultMaxConnectionsPerIP      = 100
	DefaultMaxChannelsPerConnection = 100
	DefaultMaxBindingsPerChannel    = 100
	DefaultMaxPresenceBytes         = 1 << 20
	DefaultMessagesPerSecond        = 100
	DefaultMaxMessageBytes          = 1 << 20
	DefaultRedisPrefix              = "goforward:realtime:"
	DefaultPresenceTTL              = 30 * time.Second
	DefaultMaxRecordBytes           = 1 << 20
	DefaultMaxQueuedChanges         = 4096
	DefaultMaxChangeDelay           = 2 * time.Second
)

// Config configures the realtime service. Zero values mean the stated defaults.
type Config struct {
	// HeartbeatTimeout closes a WebSocket that sent nothing for this long (realtime-js sends
	// a heartbeat every 25s). Default 60s.
	HeartbeatTimeout time.Duration
	// WriteTimeout bounds writing one message to a WebSocket. Default 10s.
	WriteTimeout time.Duration
	// SendQueueSize is how many messages may wait to be written to one WebSocket; a client
	// that falls further behind is disconnected. Default 1024.
	SendQueueSize int
	// MaxConnectionsPerKey is how many WebSockets one apikey may hold open on this node;
	// further ones are refused (429, "Too many connected users"). Default 10000.
	MaxConnectionsPerKey int
	// MaxConnectionsPerIP is how many WebSockets one client address (IPv6: one /64) may hold
	// open on this node, so that one client cannot take every connection of the anon key;
	// further ones are refused with 429. Default 100; negative: no limit.
	MaxConnectionsPerIP int
	// MaxChannelsPerConnection is how many channels one WebSocket may join. Default 100.
	MaxChannelsPerConnection int
	// MaxBindingsPerChannel is how many postgres_changes bindings one join may carry; a join
	// with more is refused. Default 100.
	MaxBindingsPerChannel int
	// MaxPresenceBytesPerConnection bounds the presence state (keys and tracked states) one
	// WebSocket holds over all its channels; a track beyond it is refused. Default 1 MiB.
	MaxPresenceBytesPerConnection int64
	// MessagesPerSecond is how many joins, token refreshes, broadcasts and presence messages
	// one WebSocket may send per second (bursts of twice that). Default 100.
	MessagesPerSecond float64
	// MaxMessageBytes bounds a WebSocket message, a broadcast payload and a presence state.
	// Default 1 MiB.
	MaxMessageBytes int64
	// RedisPrefix prefixes every Redis channel and key the service uses. Default
	// "goforward:realtime:".
	RedisPrefix string
	// NodeID names this node among the nodes sharing a bus. Default: random.
	NodeID string
	// PresenceTTL is how long a node may go without refreshing its liveness in Redis before
	// the others remove its presence entries (it crashed). Default 30s.
	PresenceTTL time.Duration
	// PostgresChanges configures the delivery of database changes.
	PostgresChanges PostgresChangesConfig
}

// PostgresChangesConfig configures postgres_changes.
type PostgresChangesConfig struct {
	// Disabled turns postgres_changes off: no replication slot is read, and joins asking for
	// changes get a system message saying so.
	Disabled bool
	// Replication configures the slot reader. Its Slot defaults to
	// goforward_realtime_<database name>.
	Replication replication.Config
	// MaxRecordBytes is the largest record delivered whole; larger ones keep only values of
	// at most 64 bytes and carry "Error 413: Payload Too Large". Default 1 MiB.
	MaxRecordBytes int
	// MaxQueuedChanges bounds the changes waiting for this node's dispatcher; beyond it the
	// oldest are dropped (their subscribers are told). Default 4096.
	MaxQueuedChanges int
	// MaxDelay is the longest a change waits for the dispatcher before it is dropped (its
	// subscribers are told). Default 2s.
	MaxDelay time.Duration
}

func (c Config) withDefaults() Config {
	setDuration := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDuration(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	setDuration(&c.WriteTimeout, DefaultWriteTimeout)
	setDuration(&c.PresenceTTL, DefaultPresenceTTL)
	setInt(&c.SendQueueSize, DefaultSendQueueSize)
	setInt(&c.MaxConnectionsPerKey, DefaultMaxConnectionsPerKey)
	setInt(&c.MaxChannelsPerConnection, DefaultMaxChannelsPerConnection)
	setInt(&c.MaxBindingsPerChannel, DefaultMaxBindingsPerChannel)
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if c.MaxPresenceBytesPerConnection <= 0 {
		c.MaxPresenceBytesPerConnection = DefaultMaxPresenceBytes
	}
	setInt(&c.PostgresChanges.MaxRecordBytes, DefaultMaxRecordBytes)
	setInt(&c.PostgresChanges.MaxQueuedChanges, DefaultMaxQueuedChanges)
	setDuration(&c.PostgresChanges.MaxDelay, DefaultMaxChangeDelay)
	if c.MessagesPerSecond <= 0 {
		c.MessagesPerSecond = DefaultMessagesPerSecond
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = DefaultRedisPrefix
	}
	if c.NodeID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
		c.NodeID = hex.EncodeToString(b)
	}
	return c
}
