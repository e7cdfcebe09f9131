package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// readStmt returns query prepared on the read pool, preparing it on first
// use; database/sql keeps it prepared on each connection of the pool that
// ran it. The queries every IMAP command ends with (ChangesSince, which
// reports what changed after it) and every SELECT runs (GetMailbox) cost
// more to parse than to run, so they are parsed once per connection
// instead of once per call. query must be one of a fixed set of texts
// (a constant), since each stays prepared until Close.
func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := db.stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := db.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// txStmt is readStmt for use in the read transaction tx.
func (db *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s, err := db.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, s), nil
}

// closeStmts closes the statements readStmt prepared.
func (db *DB) closeStmts() error {
	var errs []error
	db.stmts.Range(func(k, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		db.stmts.Delete(k)
		return true
	})
	return errors.Join(errs...)
}
