package tablesecurity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// stored is one row of goforward.table_security.
type stored struct {
	config   *Config
	compiled Compiled
	sql      []string
}

const selectStoredSQL = `SELECT id::text, config, compiled, statements, created_by, created_at, updated_by, updated_at
	FROM goforward.table_security WHERE schema_name = $1 AND table_name = $2`

// loadStored reads a table's row; nil when it has no config.
func loadStored(ctx context.Context, q Querier, schema, name string, forUpdate bool) (*stored, error) {
	sql := selectStoredSQL
	if forUpdate {
		sql += " FOR UPDATE"
	}
	var (
		id                 string
		config, compiled   []byte
		createdBy, updated string
		createdAt, upAt    time.Time
		s                  stored
	)
	err := q.QueryRow(ctx, sql, schema, name).Scan(&id, &config, &compiled, &s.sql, &createdBy, &createdAt, &updated, &upAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tablesecurity: read config of %s.%s: %w", schema, name, err)
	}
	s.config = &Config{}
	if err := json.Unmarshal(config, s.config); err != nil {
		return nil, fmt.Errorf("tablesecurity: stored config of %s.%s: %w", schema, name, err)
	}
	if err := json.Unmarshal(compiled, &s.compiled); err != nil {
		return nil, fmt.Errorf("tablesecurity: stored inventory of %s.%s: %w", schema, name, err)
	}
	c := s.config
	c.ID, c.SchemaName, c.TableName = id, schema, name
	c.CreatedBy, c.CreatedAt, c.UpdatedBy, c.UpdatedAt, c.IsActive = createdBy, createdAt.UTC(), updated, upAt.UTC(), true
	return &s, nil
}

const upsertStoredSQL = `INSERT INTO goforward.table_security
	  (schema_name, table_name, config, compiled, statements, created_by, created_at, updated_by, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $7)
	ON CONFLICT (schema_name, table_name) DO UPDATE SET config = EXCLUDED.config, compiled = EXCLUDED.compiled,
	  statements = EXCLUDED.statements, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`

// saveStored writes a table's config (without the server's metadata fields) and inventory.
func saveStored(ctx context.Context, tx pgx.Tx, cfg *Config, compiled Compiled, sql []string, by string, at time.Time) error {
	clean := *cfg
	clean.ID, clean.CreatedBy, clean.UpdatedBy, clean.IsActive = "", "", "", false
	clean.CreatedAt, clean.UpdatedAt = time.Time{}, time.Time{}
	_, err := tx.Exec(ctx, upsertStoredSQL, cfg.SchemaName, cfg.TableName, clean, compiled, sql, by, at.UTC())
	if err != nil {
		return fmt.Errorf("tablesecurity: save config of %s.%s: %w", cfg.SchemaName, cfg.TableName, err)
	}
	return nil
}

func deleteStored(ctx context.Context, tx pgx.Tx, schema, name string) error {
	_, err := tx.Exec(ctx, "DELETE FROM goforward.table_security WHERE schema_name = $1 AND table_name = $2", schema, name)
	if err != nil {
		return fmt.Errorf("tablesecurity: delete config of %s.%s: %w", schema, name, err)
	}
	return nil
}

// ListConfigs reads every table's config, for the Registry.
func ListConfigs(ctx context.Context, q Querier) ([]*Config, error) {
	rows, err := q.Query(ctx, `SELECT schema_name, table_name, config FROM goforward.table_security ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("tablesecurity: list configs: %w", err)
	}
	var (
		schema, name string
		data         []byte
		out          []*Config
	)
	_, err = pgx.ForEachRow(rows, []any{&schema, &name, &data}, func() error {
		c := &Config{}
		if err := json.Unmarshal(data, c); err != nil {
			return fmt.Errorf("config of %s.%s: %w", schema, name, err)
		}
		c.SchemaName, c.TableName, c.IsActive = schema, name, true
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tablesecurity: list configs: %w", err)
	}
	return out, nil
}
