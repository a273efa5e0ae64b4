// Command jwksbench measures REST throughput with ES256 user tokens against HS256 ones on one
// running goforward (a new data directory, which signs sessions with ES256): it signs a user
// up (an ES256 session), mints an HS256 token with the same claims from the data directory's
// secret, and runs wrk with each in alternating rounds against the same RLS-filtered read.
//
//	goforward serve --data-dir D &
//	go run ./bench/cmd/jwksbench -data-dir D -rounds 5 -duration 10s
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/datadir"
)

func main() {
	dataDir := flag.String("data-dir", "", "data directory of the running goforward")
	rounds := flag.Int("rounds", 5, "rounds per token kind, alternating")
	duration := flag.Duration("duration", 10*time.Second, "length of one wrk round")
	connections := flag.Int("connections", 16, "wrk connections")
	flag.Parse()
	if err := run(*dataDir, *rounds, *duration, *connections); err != nil {
		fmt.Fprintln(os.Stderr, "jwksbench:", err)
		os.Exit(1)
	}
}

func run(dataDir string, rounds int, duration time.Duration, connections int) error {
	ctx := context.Background()
	dir, err := datadir.New(dataDir)
	if err != nil {
		return err
	}
	rt, err := dir.ReadRuntime()
	if err != nil {
		return err
	}
	st, err := dir.LoadOrCreateState()
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, rt.DBURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// Twenty rows per user, read through a policy on auth.uid(): the request a signed-in
	// client makes most.
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.jwks_notes (id bigserial PRIMARY KEY, owner uuid NOT NULL, body text NOT NULL);
ALTER TABLE public.jwks_notes ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own ON public.jwks_notes;
CREATE POLICY own ON public.jwks_notes FOR SELECT TO authenticated USING (owner = auth.uid());
GRANT SELECT ON public.jwks_notes TO authenticated;
NOTIFY pgrst, 'reload schema'`)
	if err != nil {
		return err
	}
	email := fmt.Sprintf("jwksbench-%d@example.com", time.Now().UnixNano())
	body, _ := json.Marshal(map[string]string{"email": email, "password": "correct-horse-42"})
	req, _ := http.NewRequest("POST", rt.LocalURL+"/auth/v1/signup", bytes.NewReader(body))
	req.Header.Set("apikey", rt.AnonKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	var session struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	err = json.NewDecoder(resp.Body).Decode(&session)
	resp.Body.Close()
	if err != nil || session.AccessToken == "" {
		return fmt.Errorf("sign up: status %d, %v", resp.StatusCode, err)
	}
	if alg := headerAlg(session.AccessToken); alg != "ES256" {
		return fmt.Errorf("the session is %s, not ES256: run on a new data directory", alg)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO public.jwks_notes (owner, body) SELECT $1, 'note ' || g FROM generate_series(1, 20) g`, session.User.ID); err != nil {
		return err
	}
	// The same claims, HS256 with the data directory's secret: the token an existing data
	// directory hands out.
	var claims jwt.MapClaims
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(session.AccessToken, ".")[1])
	if err := json.Unmarshal(payload, &claims); err != nil {
		return err
	}
	secret := st.JWTSecret
	if secret == "" {
		return fmt.Errorf("no jwt secret in %s", dataDir)
	}
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return err
	}
	tokens := map[string]string{"HS256": hs, "ES256": session.AccessToken}
	target := rt.LocalURL + "/rest/v1/jwks_notes?select=id,body&order=id"
	for kind, token := range tokens {
		if n, err := rowsSeen(target, rt.AnonKey, token); err != nil || n != 20 {
			return fmt.Errorf("%s token sees %d rows (%v), want 20", kind, n, err)
		}
	}
	results, cpu := map[string][]float64{}, map[string][]float64{}
	for i := range rounds {
		for _, kind := range []string{"HS256", "ES256"} {
			before, err := processTicks(rt.PID)
			if err != nil {
				return err
			}
			rps, err := wrk(target, rt.AnonKey, tokens[kind], duration, connections)
			if err != nil {
				return err
			}
			after, err := processTicks(rt.PID)
			if err != nil {
				return err
			}
			// goforward's own processor time per request (the database's is the same for
			// both kinds): less at the mercy of other processes on the machine than req/s.
			perReq := float64(after-before) * 1e4 / (rps * duration.Seconds()) // ticks are 10 ms; µs per request
			results[kind] = append(results[kind], rps)
			cpu[kind] = append(cpu[kind], perReq)
			fmt.Printf("round %d %s %.0f req/s, goforward %.1f µs CPU/request\n", i+1, kind, rps, perReq)
		}
	}
	hsMed, esMed := median(results["HS256"]), median(results["ES256"])
	fmt.Printf("median HS256 %.0f req/s, ES256 %.0f req/s, ES256/HS256 %.3f\n", hsMed, esMed, esMed/hsMed)
	hsCPU, esCPU := median(cpu["HS256"]), median(cpu["ES256"])
	fmt.Printf("median goforward CPU/request HS256 %.1f µs, ES256 %.1f µs, HS256/ES256 %.3f\n", hsCPU, esCPU, hsCPU/esCPU)
	return nil
}

// processTicks is the user plus system processor time of process pid, in clock ticks
// (USER_HZ, 100 on Linux).
func processTicks(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: the fields after it start past the last ')'.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	return utime + stime, err
}

func headerAlg(token string) string {
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	var h struct{ Alg string }
	_ = json.Unmarshal(raw, &h)
	return h.Alg
}

func rowsSeen(target, apikey, token string) (int, error) {
	req, _ := http.NewRequest("GET", target, nil)
	req.Header.Set("apikey", apikey)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var rows []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		return 0, fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	return len(rows), nil
}

var requestsPerSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func wrk(target, apikey, token string, duration time.Duration, connections int) (float64, error) {
	out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(connections), "-d"+duration.String(), "--latency",
		"-H", "apikey: "+apikey, "-H", "Authorization: Bearer "+token, target).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	if bytes.Contains(out, []byte("Non-2xx")) {
		return 0, fmt.Errorf("wrk saw errors: %s", out)
	}
	m := requestsPerSec.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk output: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
