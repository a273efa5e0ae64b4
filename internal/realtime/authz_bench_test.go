package realtime

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime/replication"
	"github.com/goforward/goforward/internal/security"
)

// BenchmarkAuthorizeChange measures what deciding who may see one inserted row costs, per
// change, for subscribers with 1, 10 and 100 distinct claims, on a table with and without
// row-level security. Run: go run ./internal/pgtest/withpg -- go test -run XX -bench
// AuthorizeChange ./internal/realtime/
func BenchmarkAuthorizeChange(b *testing.B) {
	database := pgtest.NewDatabase(b)
	ctx := context.Background()
	_, err := database.Pool.Exec(ctx, `
		CREATE TABLE public.open_rows (id int PRIMARY KEY, owner uuid, body text);
		CREATE TABLE public.rls_rows (id int PRIMARY KEY, owner uuid, body text);
		ALTER TABLE public.rls_rows ENABLE ROW LEVEL SECURITY;
		CREATE POLICY own ON public.rls_rows FOR SELECT TO authenticated USING (owner = auth.uid());
		INSERT INTO public.open_rows VALUES (1, '00000000-0000-0000-0000-000000000001', 'x');
		INSERT INTO public.rls_rows VALUES (1, '00000000-0000-0000-0000-000000000001', 'x');`)
	require.NoError(b, err)
	keys, err := security.NewKeys([]byte("bench-secret-0123456789abcdef0123456789"), "", time.Unix(1_700_000_000, 0))
	require.NoError(b, err)
	svc, err := New(Config{PostgresChanges: PostgresChangesConfig{Disabled: true}},
		Deps{Keys: keys, Runner: db.NewRoleRunner(database.RequestPool(b), db.RunnerConfig{})})
	require.NoError(b, err)

	for _, table := range []string{"open_rows", "rls_rows"} {
		var relid, xid uint32
		require.NoError(b, database.Pool.QueryRow(ctx, `SELECT $1::regclass::oid`, "public."+table).Scan(&relid))
		require.NoError(b, database.Pool.QueryRow(ctx, `SELECT xmin::text::bigint FROM `+table).Scan(&xid))
		change := &replication.Change{
			RelationID: relid, Schema: "public", Table: table, Type: replication.Insert, XID: xid, CommitTime: time.Now(),
			Columns: []replication.Column{
				{Name: "id", Type: "int4", TypeOID: 23, Category: "N", PrimaryKey: true},
				{Name: "owner", Type: "uuid", TypeOID: 2950, Category: "U"},
				{Name: "body", Type: "text", TypeOID: 25, Category: "S"},
			},
			New: []replication.Value{
				{Text: "1", JSON: []byte("1")},
				{Text: "00000000-0000-0000-0000-000000000001", JSON: []byte(`"00000000-0000-0000-0000-000000000001"`)},
				{Text: "x", JSON: []byte(`"x"`)},
			},
		}
		for _, groups := range []int{1, 10, 100} {
			cands := make([]candidate, groups)
			for i := range cands {
				token, err := keys.Sign(jwt.MapClaims{"role": "authenticated", "sub": fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1), "exp": time.Now().Add(time.Hour).Unix()})
				require.NoError(b, err)
				p, err := keys.Verify(token)
				require.NoError(b, err)
				cands[i] = candidate{auth: &channelAuth{principal: p}}
			}
			b.Run(fmt.Sprintf("%s/claims=%d", table, groups), func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.changes.authorize(ctx, change, "authenticated", cands); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
