package restbench

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The hand-written server's statements: what a Go developer writes for these endpoints by
// hand. The JSON is built by PostgreSQL (json_agg), as the service's is, so both sides pay for
// the same encoding; the row filter the service's policy applies (published) is written into
// the WHERE clause instead, since this server connects as the superuser with no role switch,
// no claims and no row-level security.
const (
	handPointSQL = `SELECT coalesce(json_agg(t), '[]') FROM (
	SELECT id, category_id, title, body, price, published, created_at FROM hand_items WHERE id = $1 AND published) t`
	handPageSQL = `SELECT coalesce(json_agg(t), '[]') FROM (
	SELECT id, category_id, title, body, price, published, created_at FROM hand_items
	WHERE id >= $1 AND published ORDER BY id LIMIT 100) t`
	handEmbedSQL = `SELECT coalesce(json_agg(t), '[]') FROM (
	SELECT i.id, i.title, json_build_object('id', c.id, 'name', c.name) AS category
	FROM hand_items i JOIN hand_categories c ON c.id = i.category_id
	WHERE i.id >= $1 AND i.published ORDER BY i.id LIMIT 10) t`
	handInsertSQL = `INSERT INTO hand_items (category_id, title, body, price) VALUES ($1, $2, $3, $4)`
)

// handItem is the body of POST /items.
type handItem struct {
	CategoryID int     `json:"category_id"`
	Title      string  `json:"title"`
	Body       string  `json:"body"`
	Price      float64 `json:"price"`
}

// ServeHand serves the hand-written baseline on ln until ctx ends: net/http and a pgx pool of
// poolSize connections to databaseURL (the managed cluster's unix socket, as goforward's pool).
//
//	GET  /items/{id}        one row by primary key
//	GET  /items?from=N      100 rows from id N
//	GET  /embed?from=N      10 rows from id N, each with its category
//	POST /items             one INSERT, 201 and no body
func ServeHand(ctx context.Context, databaseURL string, poolSize int32, ln net.Listener) error {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = poolSize
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	mux := http.NewServeMux()
	read := func(sql, param string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			arg, err := strconv.ParseInt(r.PathValue(param)+r.URL.Query().Get(param), 10, 64)
			if err != nil {
				http.Error(w, "bad id", http.StatusBadRequest)
				return
			}
			var body []byte
			if err := pool.QueryRow(r.Context(), sql, arg).Scan(&body); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}
	}
	mux.HandleFunc("GET /items/{id}", read(handPointSQL, "id"))
	mux.HandleFunc("GET /items", read(handPageSQL, "from"))
	mux.HandleFunc("GET /embed", read(handEmbedSQL, "from"))
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		var item handItem
		if err := json.NewDecoder(r.Body).Decode(&item); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := pool.Exec(r.Context(), handInsertSQL, item.CategoryID, item.Title, item.Body, item.Price); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
