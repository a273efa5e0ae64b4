package auditbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/load"
)

// apiClient calls goforward's own GoTrue admin API, PUT /auth/v1/admin/users/{id}, with the
// service-role key: a real admin write through the real server, which writes the security
// event auth.admin_user_updated to the audit log in the write's transaction.
type apiClient struct {
	http  *http.Client
	base  string
	key   string
	users []string
}

func newAPIClient(ctx context.Context, stack *harness.Stack, n int) (*apiClient, error) {
	c := &apiClient{
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true},
			Timeout: time.Minute},
		base: stack.URL + "/auth/v1/admin/users", key: stack.ServiceRoleKey,
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range n {
		var u struct {
			ID string `json:"id"`
		}
		body := map[string]any{"email": fmt.Sprintf("auditbench-api-%d-%s@example.com", i, stamp), "email_confirm": true}
		if err := c.call(ctx, http.MethodPost, c.base, body, &u); err != nil {
			return nil, fmt.Errorf("create a user through the admin API: %w", err)
		}
		c.users = append(c.users, u.ID)
	}
	return c, nil
}

func (c *apiClient) call(ctx context.Context, method, url string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("apikey", c.key)
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// op updates the worker's own user's app_metadata.
func (c *apiClient) op() load.Op {
	var n atomic.Int64
	return func(ctx context.Context, worker int) error {
		body := map[string]any{"app_metadata": map[string]any{"plan": "plan-" + strconv.FormatInt(n.Add(1)%5, 10)}}
		return c.call(ctx, http.MethodPut, c.base+"/"+c.users[worker%len(c.users)], body, nil)
	}
}

func (c *apiClient) close() { c.http.CloseIdleConnections() }

// Without the audit log, for the API variant: a trigger discards every row written to
// goforward.audit_log while "api plain" runs. The server's statement (and its round trip)
// still runs; the row, its indexes, its WAL and its sealing do not.
const (
	discardFunction = `CREATE OR REPLACE FUNCTION public.auditbench_discard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`
	discardOn       = `CREATE TRIGGER auditbench_discard BEFORE INSERT ON goforward.audit_log FOR EACH ROW EXECUTE FUNCTION public.auditbench_discard()`
	discardOff      = `DROP TRIGGER IF EXISTS auditbench_discard ON goforward.audit_log`
)

func discardAudit(ctx context.Context, pool *pgxpool.Pool, on bool) error {
	sql := discardOff
	if on {
		if _, err := pool.Exec(ctx, discardFunction); err != nil {
			return err
		}
		sql = discardOn
	}
	_, err := pool.Exec(ctx, sql)
	return err
}
