package cli

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/realtime/replication"
)

// realtimeService builds the Supabase-compatible /realtime/v1 service. With redis.url set the
// node joins the others through Redis; its background loop carries messages, delivers
// database changes and, on the node holding the reader lock, reads the replication slot.
func realtimeService() serviceBuilder {
	return serviceBuilder{name: "realtime", build: func(d serviceDeps) (builtService, error) {
		var client *redis.Client
		if d.cfg.Redis.URL != "" {
			opts, err := redis.ParseURL(d.cfg.Redis.URL)
			if err != nil {
				return builtService{}, fmt.Errorf("redis.url: %s: %w", db.RedactURL(d.cfg.Redis.URL), err)
			}
			client = redis.NewClient(opts)
		}
		deps := realtime.Deps{Keys: d.keys, Runner: d.runner, Owner: d.admin, Logger: d.logger}
		if d.tables != nil {
			deps.TableIPs = d.tables
		}
		if client != nil {
			deps.Redis = client
		}
		if d.apiKeys != nil {
			deps.APIKeys = d.apiKeys
		}
		if d.signingKeys != nil {
			deps.SigningKeys = d.signingKeys
		}
		svc, err := realtime.New(realtimeConfig(d.cfg.Realtime), deps)
		if err != nil {
			if client != nil {
				client.Close()
			}
			return builtService{}, err
		}
		if d.emb != nil && d.emb.Realtime != nil {
			d.emb.Realtime(svc.Broadcast)
		}
		return builtService{
			Service: gateway.Service{Name: "realtime", Prefix: realtime.Prefix, Mount: svc.Mount},
			run: func(ctx context.Context) error {
				if client != nil {
					defer client.Close()
				}
				return svc.Run(ctx)
			},
		}, nil
	}}
}

// realtimeConfig maps the configuration onto the service's settings; in the configuration a
// zero lag threshold or per-address limit turns it off, in the service a negative one does.
func realtimeConfig(c config.RealtimeConfig) realtime.Config {
	off := func(v int64) int64 {
		if v == 0 {
			return -1
		}
		return v
	}
	pc := c.PostgresChanges
	perIP := c.MaxConnectionsPerIP
	if perIP == 0 {
		perIP = -1
	}
	return realtime.Config{
		HeartbeatTimeout:              c.HeartbeatTimeout,
		SendQueueSize:                 c.SendQueueSize,
		MaxConnectionsPerKey:          c.MaxConnectionsPerKey,
		MaxConnectionsPerIP:           perIP,
		MaxChannelsPerConnection:      c.MaxChannelsPerConnection,
		MaxBindingsPerChannel:         c.MaxBindingsPerChannel,
		MaxPresenceBytesPerConnection: c.MaxPresenceBytes,
		MessagesPerSecond:             c.MessagesPerSecond,
		MaxMessageBytes:               c.MaxMessageBytes,
		RedisPrefix:                   c.RedisChannelPrefix,
		PostgresChanges: realtime.PostgresChangesConfig{
			Disabled:         !pc.Enabled,
			MaxRecordBytes:   pc.MaxRecordBytes,
			MaxQueuedChanges: pc.MaxQueuedChanges,
			MaxDelay:         pc.MaxDelay,
			Replication: replication.Config{
				Slot:             pc.Slot,
				Publication:      pc.Publication,
				LagCheckInterval: pc.LagCheckEvery,
				LagAlertBytes:    off(pc.LagAlertBytes),
				MaxLagBytes:      off(pc.MaxLagBytes),
			},
		},
	}
}
