-- mailport schema, version 4: the permission model. DomainAdmin domain
-- assignments and limits, the audit log, API tokens and portal sessions.

-- admin_domains are the hosted domains a DomainAdmin administers. Removing
-- the domain or the account removes the assignment.
CREATE TABLE admin_domains (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	domain_id  INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
	PRIMARY KEY (account_id, domain_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX admin_domains_domain ON admin_domains(domain_id);

-- admin_limits: 0 = unlimited; an admin without a row has no limits.
CREATE TABLE admin_limits (
	account_id         INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	max_domains        INTEGER NOT NULL DEFAULT 0,
	max_mailboxes      INTEGER NOT NULL DEFAULT 0,
	max_aliases        INTEGER NOT NULL DEFAULT 0,
	max_domain_aliases INTEGER NOT NULL DEFAULT 0,
	max_storage_bytes  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- audit_log keeps actor and domain as text, not foreign keys: an entry
-- must outlive the account and domain it talks about.
CREATE TABLE audit_log (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	time        INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	actor_role  TEXT NOT NULL,
	remote_ip   TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL,
	object_type TEXT NOT NULL DEFAULT '',
	object_id   TEXT NOT NULL DEFAULT '',
	domain      TEXT NOT NULL DEFAULT '',
	before      TEXT,
	after       TEXT
) STRICT;
CREATE INDEX audit_log_domain ON audit_log(domain, id);
CREATE INDEX audit_log_time ON audit_log(time);

-- api_tokens hold the SHA-256 of the secret, never the secret.
CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name         TEXT NOT NULL DEFAULT '',
	hash         BLOB NOT NULL UNIQUE,
	prefix       TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0,
	expires_at   INTEGER
) STRICT;
CREATE INDEX api_tokens_prefix ON api_tokens(prefix);
CREATE INDEX api_tokens_account ON api_tokens(account_id);

-- sessions.id is the hex SHA-256 of the cookie value.
CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	csrf_token   TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	remote_ip    TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions(account_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
