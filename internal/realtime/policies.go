package realtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/security"
)

// privateKeyPrefix keeps private channels apart from public ones of the same name: they share
// the wire topic but not their subscribers, presence or bus channel.
const privateKeyPrefix = "private:"

// policyTimeout bounds one evaluation of a private channel's policies.
const policyTimeout = 5 * time.Second

// channelPolicies is what a private channel may do, as realtime.messages' policies say.
type channelPolicies struct {
	BroadcastRead, BroadcastWrite bool
	PresenceRead, PresenceWrite   bool
}

func (p channelPolicies) canRead() bool { return p.BroadcastRead || p.PresenceRead }

// errPolicyProbe ends the probe transaction; it is always rolled back.
var errPolicyProbe = errors.New("policy probe done")

// policiesFor evaluates realtime.messages' row-level security for topic name as principal,
// the way Supabase does: probe rows for both extensions are inserted (as the owner), then read
// back as the caller (SELECT policies: may receive), and inserted again as the caller (INSERT
// policies: may send). Everything is rolled back. The caller's role was checked to be one of
// the API roles when its token was accepted.
func (s *Service) policiesFor(ctx context.Context, name string, p security.Principal) (channelPolicies, error) {
	var pol channelPolicies
	if s.owner == nil {
		return pol, errors.New("private channels need the owner's connection pool")
	}
	ctx, cancel := context.WithTimeout(ctx, policyTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.owner, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO realtime.messages (topic, extension) VALUES ($1, 'broadcast'), ($1, 'presence') RETURNING id`, name)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
			set_config('realtime.topic', $3, true)`, p.Role, string(p.Claims), name); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT extension FROM realtime.messages WHERE id = ANY($1)`, ids)
		if err != nil {
			return err
		}
		readable, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, ext := range readable {
			switch ext {
			case "broadcast":
				pol.BroadcastRead = true
			case "presence":
				pol.PresenceRead = true
			}
		}
		if pol.BroadcastWrite, err = canInsert(ctx, tx, name, "broadcast"); err != nil {
			return err
		}
		if pol.PresenceWrite, err = canInsert(ctx, tx, name, "presence"); err != nil {
			return err
		}
		return errPolicyProbe
	})
	if !errors.Is(err, errPolicyProbe) {
		return channelPolicies{}, fmt.Errorf("evaluate realtime.messages policies: %w", err)
	}
	return pol, nil
}

// canInsert reports whether the transaction's role may insert a message of extension.
func canInsert(ctx context.Context, tx pgx.Tx, name, extension string) (bool, error) {
	if _, err := tx.Exec(ctx, "SAVEPOINT realtime_write_probe"); err != nil {
		return false, err
	}
	_, insertErr := tx.Exec(ctx, `INSERT INTO realtime.messages (topic, extension) VALUES ($1, $2)`, name, extension)
	if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT realtime_write_probe"); err != nil {
		return false, err
	}
	var pgErr *pgconn.PgError
	switch {
	case insertErr == nil:
		return true, nil
	case errors.As(insertErr, &pgErr) && pgErr.Code == "42501": // insufficient privilege, RLS
		return false, nil
	default:
		return false, insertErr
	}
}

// wireTopic is the topic clients see for a hub key.
func wireTopic(key string) string {
	return strings.TrimPrefix(key, privateKeyPrefix)
}
