package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"mailport/internal/store"
)

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// SetAdminDomains replaces the admin's domains in one transaction.
func (db *DB) SetAdminDomains(ctx context.Context, accountID int64, domains []string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_domains WHERE account_id = ?`, accountID); err != nil {
			return err
		}
		for _, d := range domains {
			if err := addAdminDomain(ctx, tx, accountID, d); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "set domains of admin %d", accountID)
}

func addAdminDomain(ctx context.Context, tx *sql.Tx, accountID int64, domain string) error {
	id, err := domainID(ctx, tx, domain)
	if err != nil {
		return fmt.Errorf("domain %q: %w", domain, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO admin_domains (account_id, domain_id) VALUES (?, ?)`, accountID, id)
	return err
}

// AddAdminDomain assigns one domain to an admin.
func (db *DB) AddAdminDomain(ctx context.Context, accountID int64, domain string) error {
	err := db.write(ctx, func(tx *sql.Tx) error { return addAdminDomain(ctx, tx, accountID, domain) })
	return wrap(err, "assign %q to admin %d", domain, accountID)
}

// AdminDomains lists an admin's domains by name.
func (db *DB) AdminDomains(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT d.name FROM admin_domains ad JOIN domains d ON d.id = ad.domain_id
		WHERE ad.account_id = ? ORDER BY d.name`, accountID)
	if err != nil {
		return nil, wrap(err, "domains of admin %d", accountID)
	}
	out, err := scanStrings(rows)
	return out, wrap(err, "domains of admin %d", accountID)
}

// DomainAdmins lists the accounts administering domain.
func (db *DB) DomainAdmins(ctx context.Context, domain string) ([]int64, error) {
	var out []int64
	err := db.read(ctx, func(tx *sql.Tx) error {
		id, err := domainID(ctx, tx, domain)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT account_id FROM admin_domains WHERE domain_id = ? ORDER BY account_id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a int64
			if err := rows.Scan(&a); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap(err, "admins of %q", domain)
	}
	return out, nil
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AdminLimits returns the admin's limits, zero when none are set.
func (db *DB) AdminLimits(ctx context.Context, accountID int64) (store.AdminLimits, error) {
	l := store.AdminLimits{AccountID: accountID}
	err := db.r.QueryRowContext(ctx, `SELECT max_domains, max_mailboxes, max_aliases, max_domain_aliases, max_storage_bytes
		FROM admin_limits WHERE account_id = ?`, accountID).
		Scan(&l.MaxDomains, &l.MaxMailboxes, &l.MaxAliases, &l.MaxDomainAliases, &l.MaxStorageBytes)
	if err == sql.ErrNoRows {
		return l, nil
	}
	if err != nil {
		return store.AdminLimits{}, wrap(err, "limits of admin %d", accountID)
	}
	return l, nil
}

// SetAdminLimits stores the limits of l.AccountID (ErrNotFound for an
// unknown account).
func (db *DB) SetAdminLimits(ctx context.Context, l store.AdminLimits) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO admin_limits
			(account_id, max_domains, max_mailboxes, max_aliases, max_domain_aliases, max_storage_bytes)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET max_domains = excluded.max_domains,
				max_mailboxes = excluded.max_mailboxes, max_aliases = excluded.max_aliases,
				max_domain_aliases = excluded.max_domain_aliases, max_storage_bytes = excluded.max_storage_bytes`,
			l.AccountID, l.MaxDomains, l.MaxMailboxes, l.MaxAliases, l.MaxDomainAliases, l.MaxStorageBytes)
		return err
	})
	return wrap(err, "set limits of admin %d", l.AccountID)
}

// AdminUsage counts what the admin's domains hold, in one snapshot.
func (db *DB) AdminUsage(ctx context.Context, accountID int64) (store.AdminUsage, error) {
	var u store.AdminUsage
	var aliases, senders int64
	err := db.r.QueryRowContext(ctx, `
		WITH ds AS (SELECT domain_id FROM admin_domains WHERE account_id = ?1)
		SELECT
			(SELECT COUNT(*) FROM ds),
			(SELECT COUNT(*) FROM accounts WHERE domain_id IN (SELECT domain_id FROM ds)),
			(SELECT COUNT(*) FROM aliases WHERE domain_id IN (SELECT domain_id FROM ds)),
			(SELECT COUNT(*) FROM sender_addresses s JOIN accounts a ON a.id = s.account_id
			  WHERE a.domain_id IN (SELECT domain_id FROM ds)),
			(SELECT COUNT(*) FROM domain_aliases WHERE domain_id IN (SELECT domain_id FROM ds)),
			(SELECT COALESCE(SUM(quota_bytes), 0) FROM accounts WHERE domain_id IN (SELECT domain_id FROM ds)),
			(SELECT COALESCE(SUM(used_bytes), 0) FROM accounts WHERE domain_id IN (SELECT domain_id FROM ds)),
			(SELECT COUNT(*) FROM accounts WHERE quota_bytes = 0 AND domain_id IN (SELECT domain_id FROM ds))`,
		accountID).Scan(&u.Domains, &u.Mailboxes, &aliases, &senders, &u.DomainAliases, &u.QuotaBytes, &u.UsedBytes, &u.Unlimited)
	if err != nil {
		return store.AdminUsage{}, wrap(err, "usage of admin %d", accountID)
	}
	u.Aliases = aliases + senders
	return u, nil
}

func nullJSON(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// AppendAudit stores e with a new ID; a zero Time means now.
func (db *DB) AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	t := toNanos(e.Time)
	e.Time = fromNanos(t)
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit_log
			(time, actor, actor_role, remote_ip, action, object_type, object_id, domain, before, after)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t, e.Actor, string(e.ActorRole), e.RemoteIP, e.Action, e.ObjectType, e.ObjectID, e.Domain,
			nullJSON(e.Before), nullJSON(e.After))
		if err != nil {
			return err
		}
		e.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return store.AuditEntry{}, wrap(err, "append audit %s", e.Action)
	}
	return e, nil
}

// ListAudit returns entries matching f, newest first.
func (db *DB) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	if !f.AllDomains && len(f.Domains) == 0 {
		return nil, nil
	}
	var where []string
	var args []any
	if !f.AllDomains {
		var or []string
		for _, d := range f.Domains {
			// A subdomain matches too: relay domains below a hosted
			// domain belong to its admins.
			or = append(or, `domain = ? OR substr(domain, -?) = ?`)
			args = append(args, d, len(d)+1, "."+d)
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	if !f.Since.IsZero() {
		where = append(where, `time >= ?`)
		args = append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		where = append(where, `time < ?`)
		args = append(args, f.Until.UnixNano())
	}
	if f.Actor != "" {
		where = append(where, `actor = ?`)
		args = append(args, f.Actor)
	}
	if f.BeforeID > 0 {
		where = append(where, `id < ?`)
		args = append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 || limit > store.MaxAuditPage {
		limit = store.MaxAuditPage
	}
	q := `SELECT id, time, actor, actor_role, remote_ip, action, object_type, object_id, domain,
		COALESCE(before, ''), COALESCE(after, '') FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	out, err := queryAll(ctx, db.r, scanAudit, q, args...)
	return out, wrap(err, "list audit")
}

const tokenColumns = `id, account_id, name, hash, prefix, created_at, last_used_at, expires_at`

func scanToken(row interface{ Scan(...any) error }) (store.APIToken, error) {
	var t store.APIToken
	var created, used int64
	var expires sql.NullInt64
	if err := row.Scan(&t.ID, &t.AccountID, &t.Name, &t.Hash, &t.Prefix, &created, &used, &expires); err != nil {
		return store.APIToken{}, err
	}
	t.CreatedAt = fromNanos(created)
	if used != 0 {
		t.LastUsedAt = fromNanos(used)
	}
	if expires.Valid {
		e := fromNanos(expires.Int64)
		t.ExpiresAt = &e
	}
	return t, nil
}

// CreateAPIToken stores t with a new ID; a zero CreatedAt means now.
func (db *DB) CreateAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	created := toNanos(t.CreatedAt)
	t.CreatedAt = fromNanos(created)
	t.LastUsedAt = time.Time{}
	var expires any
	if t.ExpiresAt != nil {
		expires = t.ExpiresAt.UnixNano()
		e := fromNanos(t.ExpiresAt.UnixNano())
		t.ExpiresAt = &e
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (account_id, name, hash, prefix, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, t.AccountID, t.Name, t.Hash, t.Prefix, created, expires)
		if err != nil {
			return err
		}
		t.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return store.APIToken{}, wrap(err, "create token for account %d", t.AccountID)
	}
	return t, nil
}

// scanAudit reads one audit_log row of ListAudit's query.
func scanAudit(rows row) (store.AuditEntry, error) {
	var e store.AuditEntry
	var t int64
	var role, before, after string
	if err := rows.Scan(&e.ID, &t, &e.Actor, &role, &e.RemoteIP, &e.Action, &e.ObjectType, &e.ObjectID,
		&e.Domain, &before, &after); err != nil {
		return e, err
	}
	e.Time = fromNanos(t)
	e.ActorRole = store.Role(role)
	if before != "" {
		e.Before = json.RawMessage(before)
	}
	if after != "" {
		e.After = json.RawMessage(after)
	}
	return e, nil
}

func (db *DB) queryTokens(ctx context.Context, what, where string, arg any) ([]store.APIToken, error) {
	out, err := queryAll(ctx, db.r, scanToken, `SELECT `+tokenColumns+` FROM api_tokens WHERE `+where+` ORDER BY id`, arg)
	return out, wrap(err, "%s", what)
}

// ListAPITokens lists an account's tokens, oldest first.
func (db *DB) ListAPITokens(ctx context.Context, accountID int64) ([]store.APIToken, error) {
	return db.queryTokens(ctx, fmt.Sprintf("tokens of account %d", accountID), `account_id = ?`, accountID)
}

// APITokensByPrefix returns the tokens with the given prefix.
func (db *DB) APITokensByPrefix(ctx context.Context, prefix string) ([]store.APIToken, error) {
	return db.queryTokens(ctx, "tokens by prefix", `prefix = ?`, prefix)
}

// DeleteAPIToken removes token id of accountID (ErrNotFound if the
// account has no such token).
func (db *DB) DeleteAPIToken(ctx context.Context, accountID, id int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM api_tokens WHERE id = ? AND account_id = ?`, id, accountID)
	})
	return wrap(err, "delete token %d", id)
}

// TouchAPIToken records a use of token id.
func (db *DB) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, toNanos(at), id)
	})
	return wrap(err, "touch token %d", id)
}

const sessionColumns = `id, account_id, csrf_token, created_at, last_seen_at, expires_at, remote_ip, user_agent`

func scanSession(row interface{ Scan(...any) error }) (store.Session, error) {
	var s store.Session
	var created, seen, expires int64
	if err := row.Scan(&s.ID, &s.AccountID, &s.CSRFToken, &created, &seen, &expires, &s.RemoteIP, &s.UserAgent); err != nil {
		return store.Session{}, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromNanos(created), fromNanos(seen), fromNanos(expires)
	return s, nil
}

// CreateSession stores s (ErrExists for a reused ID, ErrNotFound for an
// unknown account).
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.AccountID, s.CSRFToken, toNanos(s.CreatedAt), toNanos(s.LastSeenAt), toNanos(s.ExpiresAt), s.RemoteIP, s.UserAgent)
		return err
	})
	return wrap(err, "create session for account %d", s.AccountID)
}

// GetSession returns the session with id, expired or not.
func (db *DB) GetSession(ctx context.Context, id string) (store.Session, error) {
	s, err := scanSession(db.r.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if err != nil {
		return store.Session{}, wrap(err, "get session")
	}
	return s, nil
}

// TouchSession moves a session's last-seen and expiry times.
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?`,
			toNanos(lastSeen), toNanos(expires), id)
	})
	return wrap(err, "touch session")
}

// DeleteSession removes a session.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM sessions WHERE id = ?`, id)
	})
	return wrap(err, "delete session")
}

// ListSessions lists an account's sessions, newest first.
func (db *DB) ListSessions(ctx context.Context, accountID int64) ([]store.Session, error) {
	out, err := queryAll(ctx, db.r, scanSession, `SELECT `+sessionColumns+` FROM sessions WHERE account_id = ?
		ORDER BY created_at DESC, id`, accountID)
	return out, wrap(err, "sessions of account %d", accountID)
}

// DeleteAccountSessions removes the account's sessions except keep.
func (db *DB) DeleteAccountSessions(ctx context.Context, accountID int64, keep string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ? AND id != ?`, accountID, keep)
		return err
	})
	return wrap(err, "delete sessions of account %d", accountID)
}

// DeleteExpiredSessions removes sessions whose expiry is before now.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, now.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, wrap(err, "delete expired sessions")
	}
	return n, nil
}

// likePattern escapes s for LIKE ... ESCAPE '\' as a substring match.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

var accountSortColumns = map[store.AccountSort]string{
	"":                    "a.address",
	store.SortAddress:     "a.address",
	store.SortDisplayName: "a.display_name",
	store.SortUsed:        "a.used_bytes",
	store.SortQuota:       "a.quota_bytes",
	store.SortCreated:     "a.created_at",
}

// QueryAccounts pages through mailbox accounts.
func (db *DB) QueryAccounts(ctx context.Context, q store.AccountQuery) ([]store.Account, int, error) {
	if !q.AllDomains && len(q.Domains) == 0 {
		return nil, 0, nil
	}
	col, ok := accountSortColumns[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("sqlite: query accounts: unknown sort %q", q.Sort)
	}
	where := []string{`a.domain_id IS NOT NULL`}
	var args []any
	if !q.AllDomains {
		where = append(where, `d.name IN (`+placeholders(len(q.Domains))+`)`)
		args = append(args, stringArgs(q.Domains)...)
	}
	if q.Search != "" {
		where = append(where, `(a.address LIKE ? ESCAPE '\' OR a.display_name LIKE ? ESCAPE '\')`)
		p := likePattern(q.Search)
		args = append(args, p, p)
	}
	from := ` FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE ` + strings.Join(where, " AND ")
	dir, limit := pageOrder(q.Desc, q.Limit, store.MaxAccountPage)
	offset := max(q.Offset, 0)
	var out []store.Account
	var total int
	err := db.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*)`+from, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+qualifiedAccountColumns+from+
			` ORDER BY `+col+` `+dir+`, a.address `+dir+` LIMIT ? OFFSET ?`, append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, wrap(err, "query accounts")
	}
	return out, total, nil
}

// qualifiedAccountColumns is accountColumns for a query joining accounts
// as "a".
const qualifiedAccountColumns = `a.id, a.address, COALESCE(a.domain_id, 0), a.display_name, a.password_hash,
	a.quota_bytes, a.used_bytes, a.enabled, a.role, a.created_at, a.scram_sha256`

// DomainStats returns per-domain storage from the counters the store
// maintains (no scan of messages).
func (db *DB) DomainStats(ctx context.Context, domains []string) ([]store.DomainStats, error) {
	q := `SELECT d.name,
		(SELECT COUNT(*) FROM accounts a WHERE a.domain_id = d.id),
		(SELECT COUNT(*) FROM aliases l WHERE l.domain_id = d.id),
		(SELECT COALESCE(SUM(b.messages), 0) FROM mailboxes b JOIN accounts a ON a.id = b.account_id WHERE a.domain_id = d.id),
		(SELECT COALESCE(SUM(a.used_bytes), 0) FROM accounts a WHERE a.domain_id = d.id),
		(SELECT COALESCE(SUM(a.quota_bytes), 0) FROM accounts a WHERE a.domain_id = d.id)
		FROM domains d`
	var args []any
	if domains != nil {
		if len(domains) == 0 {
			return nil, nil
		}
		q += ` WHERE d.name IN (` + placeholders(len(domains)) + `)`
		args = stringArgs(domains)
	}
	q += ` ORDER BY d.name`
	out, err := queryAll(ctx, db.r, func(rows row) (store.DomainStats, error) {
		var s store.DomainStats
		err := rows.Scan(&s.Domain, &s.Mailboxes, &s.Aliases, &s.Messages, &s.Bytes, &s.QuotaBytes)
		return s, err
	}, q, args...)
	return out, wrap(err, "domain stats")
}

// statsSortColumns maps each MailboxStats order to its column; the query
// names the message count n_messages.
var statsSortColumns = map[store.StatsSort]string{
	"": "a.address", store.StatsByAddress: "a.address", store.StatsByUsed: "a.used_bytes",
	store.StatsByQuota: "a.quota_bytes", store.StatsByMessages: "n_messages",
}

// MailboxStats returns a page of per-mailbox storage of a domain, sorted
// and cut in SQL so a large domain's biggest mailboxes come without
// reading all of them.
func (db *DB) MailboxStats(ctx context.Context, q store.MailboxStatsQuery) ([]store.MailboxStats, int, error) {
	col, ok := statsSortColumns[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("sqlite: mailbox stats: unknown sort %q", q.Sort)
	}
	dir, limit := pageOrder(q.Desc, q.Limit, store.MaxAccountPage)
	var out []store.MailboxStats
	var total int
	err := db.read(ctx, func(tx *sql.Tx) error {
		id, err := domainID(ctx, tx, q.Domain)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE domain_id = ?`, id).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT a.address, COALESCE(SUM(b.messages), 0) AS n_messages, a.used_bytes, a.quota_bytes
			FROM accounts a LEFT JOIN mailboxes b ON b.account_id = a.id
			WHERE a.domain_id = ? GROUP BY a.id ORDER BY `+col+` `+dir+`, a.address `+dir+` LIMIT ? OFFSET ?`,
			id, limit, max(q.Offset, 0))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s store.MailboxStats
			if err := rows.Scan(&s.Address, &s.Messages, &s.Bytes, &s.QuotaBytes); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, wrap(err, "mailbox stats of %q", q.Domain)
	}
	return out, total, nil
}
