package config

import "time"

// SQLConfig configures the guarded SQL runner, POST /pg/query (the meta service): how long
// the SQL an admin runs may take and how many rows it may answer with.
type SQLConfig struct {
	StatementTimeout time.Duration `koanf:"statement_timeout" doc:"Longest a single statement of POST /pg/query may run (PostgreSQL's statement_timeout on the runner's connections)."`
	RequestTimeout   time.Duration `koanf:"request_timeout" doc:"Longest a whole POST /pg/query request may run, whatever its SQL sets statement_timeout to; its connection is closed when it is over."`
	MaxRows          int           `koanf:"max_rows" doc:"Most rows POST /pg/query answers per statement; the rest are read and dropped, and the answer says truncated."`
	MaxConns         int32         `koanf:"max_conns" doc:"Connections the SQL runner may hold at once, apart from the API's pools, so that long queries cannot starve them."`
}

func defaultSQL() SQLConfig {
	return SQLConfig{StatementTimeout: 30 * time.Second, RequestTimeout: time.Minute, MaxRows: 10000, MaxConns: 4}
}

func validateSQL(errs *fieldErrors, s SQLConfig) {
	positive(errs, "sql.statement_timeout", s.StatementTimeout)
	positive(errs, "sql.request_timeout", s.RequestTimeout)
	if s.RequestTimeout > 0 && s.RequestTimeout < s.StatementTimeout {
		errs.add("sql.request_timeout", "must not be shorter than sql.statement_timeout", s.RequestTimeout)
	}
	if s.MaxRows < 1 {
		errs.add("sql.max_rows", "must be at least 1", s.MaxRows)
	}
	if s.MaxConns < 1 {
		errs.add("sql.max_conns", "must be at least 1", s.MaxConns)
	}
}
