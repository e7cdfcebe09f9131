package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"mailport/internal/store"
)

// QueryForwards pages through forwards with their mailbox's address.
func (db *DB) QueryForwards(ctx context.Context, q store.LinkQuery) ([]store.MailboxForward, int, error) {
	out, total, err := queryLinks(ctx, db, q, "forwards", "target", ", l.keep_copy",
		func(rows *sql.Rows) (store.MailboxForward, error) {
			var f store.MailboxForward
			err := rows.Scan(&f.Mailbox, &f.Target, &f.KeepCopy)
			return f, err
		})
	return out, total, wrap(err, "query forwards")
}

// QuerySenderAddresses pages through sender addresses with their
// mailbox's address.
func (db *DB) QuerySenderAddresses(ctx context.Context, q store.LinkQuery) ([]store.MailboxSender, int, error) {
	out, total, err := queryLinks(ctx, db, q, "sender_addresses", "address", "",
		func(rows *sql.Rows) (store.MailboxSender, error) {
			var s store.MailboxSender
			err := rows.Scan(&s.Mailbox, &s.Address)
			return s, err
		})
	return out, total, wrap(err, "query sender addresses")
}

// queryLinks runs a LinkQuery over table (forwards or sender_addresses,
// joined as "l"), whose other address is in column col. Each row scanned
// is the mailbox's address, col, then the extra columns. The count and
// the page are read in one transaction, so the total fits the page.
func queryLinks[T any](ctx context.Context, db *DB, q store.LinkQuery, table, col, extra string, scan func(*sql.Rows) (T, error)) ([]T, int, error) {
	if !q.AllDomains && len(q.Domains) == 0 {
		return nil, 0, nil
	}
	var where []string
	var args []any
	if !q.AllDomains {
		where = append(where, `d.name IN (`+placeholders(len(q.Domains))+`)`)
		args = append(args, stringArgs(q.Domains)...)
	}
	if q.Mailbox != "" {
		where = append(where, `a.address = ?`)
		args = append(args, q.Mailbox)
	}
	if q.Search != "" {
		where = append(where, `(a.address LIKE ? ESCAPE '\' OR l.`+col+` LIKE ? ESCAPE '\')`)
		p := likePattern(q.Search)
		args = append(args, p, p)
	}
	from := ` FROM ` + table + ` l JOIN accounts a ON a.id = l.account_id JOIN domains d ON d.id = a.domain_id`
	if len(where) > 0 {
		from += ` WHERE ` + strings.Join(where, " AND ")
	}
	dir, limit := pageOrder(q.Desc, q.Limit, store.MaxLinkPage)
	var out []T
	var total int
	err := db.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*)`+from, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT a.address, l.`+col+extra+from+
			` ORDER BY a.address `+dir+`, l.`+col+` `+dir+` LIMIT ? OFFSET ?`, append(args, limit, max(q.Offset, 0))...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}
