package db

import (
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// pipeline is one RunInRole batch: what was queued, in order, so that each result can be
// matched with what produced it.
type pipeline struct {
	batch *pgconn.Batch
	cache *statementCache // nil: nothing is prepared
	role  string
	steps []pipelineStep
}

// pipelineStep is one queued statement. Exactly one of its fields says what it is; none set
// means a statement whose result is skipped (BEGIN, the settings).
type pipelineStep struct {
	what       string       // for errors of skipped statements
	statement  int          // index+1 in the caller's statements; 0 = not one of them
	prepare    statementKey // a PREPARE of this key ...
	as         string       // ... as this name
	deallocate string       // a DEALLOCATE of this name
}

// queue adds the deallocations the cache owes, then each statement, prepared unless OneOff
// or the runner prepares nothing.
func (p *pipeline) queue(typeMap *pgtype.Map, stmts []Statement) error {
	if p.cache == nil {
		return p.queueUnprepared(typeMap, stmts)
	}
	fresh := 0
	for _, s := range stmts {
		if _, ok := p.cache.lookup(statementKey{p.role, s.SQL}); !ok && !s.OneOff {
			fresh++
		}
	}
	p.cache.makeRoom(fresh)
	// Statement names are generated here, never taken from a request, so they can be
	// spliced into DEALLOCATE and PREPARE.
	for _, name := range p.cache.doomed {
		p.batch.ExecParams("DEALLOCATE "+name, nil, nil, nil, nil)
		p.steps = append(p.steps, pipelineStep{deallocate: name})
	}
	var queued map[statementKey]string // prepared earlier in this batch
	for i, s := range stmts {
		values, err := encodeText(typeMap, s.Args)
		if err != nil {
			return fmt.Errorf("statement %d: %w", i, err)
		}
		if s.OneOff {
			p.batch.ExecParams(s.SQL, values, nil, nil, nil)
			p.steps = append(p.steps, pipelineStep{statement: i + 1})
			continue
		}
		key := statementKey{p.role, s.SQL}
		name, ok := p.cache.lookup(key)
		if !ok {
			name, ok = queued[key]
		}
		if !ok {
			name = p.cache.newName()
			if queued == nil {
				queued = map[statementKey]string{}
			}
			queued[key] = name
			p.batch.ExecParams("PREPARE "+name+" AS "+s.SQL, nil, nil, nil, nil)
			p.steps = append(p.steps, pipelineStep{prepare: key, as: name})
		}
		p.batch.ExecPrepared(name, values, nil, nil)
		p.steps = append(p.steps, pipelineStep{statement: i + 1})
	}
	return nil
}

func (p *pipeline) queueUnprepared(typeMap *pgtype.Map, stmts []Statement) error {
	for i, s := range stmts {
		values, err := encodeText(typeMap, s.Args)
		if err != nil {
			return fmt.Errorf("statement %d: %w", i, err)
		}
		p.batch.ExecParams(s.SQL, values, nil, nil, nil)
		p.steps = append(p.steps, pipelineStep{statement: i + 1})
	}
	return nil
}

// read walks the results in the order they were queued, records in the cache what PostgreSQL
// confirmed, and hands each statement's rows to fn. It returns the first error; PostgreSQL
// skips everything after a failed statement.
func (p *pipeline) read(results *pgconn.MultiResultReader, typeMap *pgtype.Map, fn func(int, pgx.Rows) error) error {
	for _, step := range p.steps {
		if !results.NextResult() {
			return results.Close()
		}
		if step.statement > 0 {
			rows := pgx.RowsFromResultReader(typeMap, results.ResultReader())
			err := fn(step.statement-1, rows)
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
			if err != nil {
				return err
			}
			continue
		}
		_, err := results.ResultReader().Close()
		switch {
		case err != nil && step.what != "":
			return fmt.Errorf("%s: %w", step.what, err)
		case err != nil:
			return err
		case step.as != "":
			p.cache.prepared(step.prepare, step.as)
		case step.deallocate != "":
			p.cache.deallocated(step.deallocate)
		}
	}
	return nil
}
