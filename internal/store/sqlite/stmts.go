package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The queries every IMAP command ends with (ChangesSince, which reports
// what changed after it), every SELECT runs (GetMailbox) and every STORE
// runs (UpdateFlags) cost more to parse than to run. They are prepared
// once, when the database opens (a statement prepared later, inside a
// transaction, would need a second connection of a pool whose
// connections the transactions may all hold), and database/sql keeps each
// prepared on every connection of its pool that runs it.
const (
	getMailboxSQL      = `SELECT ` + mailboxColumns + ` FROM mailboxes WHERE account_id = ? AND name = ?`
	mailboxExistsSQL   = `SELECT messages, highestmodseq FROM mailboxes WHERE id = ?`
	changedSinceSQL    = `SELECT ` + listColumns + ` FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`
	expungedSinceSQL   = `SELECT uid FROM tombstones WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`
	unindexedSQL       = `SELECT uid FROM messages INDEXED BY messages_unindexed WHERE mailbox_id = ? AND has_text = 0 ORDER BY uid`
	flagCountersSQL    = `SELECT highestmodseq, unseen FROM mailboxes WHERE id = ?`
	getListedSQL       = `SELECT ` + listColumns + ` FROM messages WHERE mailbox_id = ? AND uid = ?`
	setFlagsSQL        = `UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE id = ?`
	setFlagCountersSQL = `UPDATE mailboxes SET highestmodseq = ?, unseen = ? WHERE id = ?`
)

// readQueries and writeQueries are the statements prepared on the read
// pool and on the writer.
var (
	readQueries  = []string{getMailboxSQL, mailboxExistsSQL, changedSinceSQL, expungedSinceSQL, unindexedSQL}
	writeQueries = []string{flagCountersSQL, getListedSQL, setFlagsSQL, setFlagCountersSQL}
)

// stmtCache holds statements prepared on one of the DB's pools.
type stmtCache map[string]*sql.Stmt

// prepareAll prepares queries on db.
func prepareAll(ctx context.Context, db *sql.DB, queries []string) (stmtCache, error) {
	c := make(stmtCache, len(queries))
	for _, q := range queries {
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		c[q] = s
	}
	return c, nil
}

// prepared returns the statement of query (one of the cache's queries).
func (c stmtCache) prepared(query string) (*sql.Stmt, error) {
	s, ok := c[query]
	if !ok {
		return nil, fmt.Errorf("statement not prepared: %q", query)
	}
	return s, nil
}

// in returns the statement of query for tx, a transaction on the cache's
// pool.
func (c stmtCache) in(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s, err := c.prepared(query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, s), nil
}

// close closes the statements.
func (c stmtCache) close() error {
	var errs []error
	for _, s := range c {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
