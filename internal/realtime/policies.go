package realtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/db"
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
// the way Supabase does: probe rows for both extensions are inserted, then read back as the
// caller (SELECT policies: may receive), and inserted again as the caller (INSERT policies:
// may send). Everything is rolled back.
//
// It all runs on the authenticator's connection (the RoleRunner), like every request, and
// not on the owner's: policies are the application's SQL, and a policy, or a function it
// calls, that manages to RESET ROLE or read session-level state would otherwise run with the
// owner's (a superuser's) privileges. The probe rows are inserted as service_role, which
// bypasses row-level security and holds INSERT on realtime.messages (migration 0005), so
// the authenticator needs nothing beyond the API roles it may already switch to. The
// caller's role was checked to be one of the API roles when its token was accepted.
func (s *Service) policiesFor(ctx context.Context, name string, p security.Principal) (channelPolicies, error) {
	var pol channelPolicies
	ctx, cancel := context.WithTimeout(ctx, policyTimeout)
	defer cancel()
	scope := db.RequestScope{Role: p.Role, Claims: p.Claims}
	err := s.runner.InRole(ctx, scope, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('role', $1, true)`, db.RoleServiceRole); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `INSERT INTO realtime.messages (topic, extension) VALUES ($1, 'broadcast'), ($1, 'presence') RETURNING id`, name)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('role', $1, true), set_config('realtime.topic', $2, true)`, p.Role, name); err != nil {
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
