-- mailport schema, version 1. Times are Unix nanoseconds (UTC); booleans
-- are 0/1. Every child row refers to its parent with ON DELETE CASCADE so
-- that deleting a domain, account or mailbox removes everything under it in
-- the same statement; the Go code collects the blob ids first.

-- meta holds single counters; "uidvalidity" is the last UIDVALIDITY handed
-- out, so a value is never reused, not even for a recreated mailbox name
-- (RFC 9051 section 2.3.1.1).
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('uidvalidity', 0);

CREATE TABLE domains (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE domain_aliases (
	alias     TEXT PRIMARY KEY,
	domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE
) STRICT;
CREATE INDEX domain_aliases_domain ON domain_aliases(domain_id);

CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	address       TEXT NOT NULL UNIQUE,
	domain_id     INTEGER REFERENCES domains(id) ON DELETE CASCADE,
	display_name  TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	quota_bytes   INTEGER NOT NULL DEFAULT 0,
	used_bytes    INTEGER NOT NULL DEFAULT 0,
	enabled       INTEGER NOT NULL DEFAULT 1,
	role          TEXT NOT NULL DEFAULT 'user',
	created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX accounts_domain ON accounts(domain_id);

-- aliases.domain_id is the hosted domain of the alias address (NULL for an
-- address without "@"), so that deleting the domain removes its aliases.
CREATE TABLE aliases (
	id        INTEGER PRIMARY KEY,
	address   TEXT NOT NULL UNIQUE,
	domain_id INTEGER REFERENCES domains(id) ON DELETE CASCADE
) STRICT;
CREATE INDEX aliases_domain ON aliases(domain_id);

CREATE TABLE alias_targets (
	alias_id INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	target   TEXT NOT NULL,
	PRIMARY KEY (alias_id, position),
	UNIQUE (alias_id, target)
) STRICT, WITHOUT ROWID;

CREATE TABLE sender_addresses (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	address    TEXT NOT NULL,
	PRIMARY KEY (account_id, address)
) STRICT, WITHOUT ROWID;

CREATE TABLE forwards (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	target     TEXT NOT NULL,
	keep_copy  INTEGER NOT NULL,
	PRIMARY KEY (account_id, target)
) STRICT, WITHOUT ROWID;

-- mailboxes keeps its message count, unseen count and total size as
-- columns maintained in the same transaction as every message change, so
-- STATUS/SELECT never aggregate over a large mailbox. Check verifies them.
CREATE TABLE mailboxes (
	id            INTEGER PRIMARY KEY,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	special_use   TEXT NOT NULL DEFAULT '',
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL DEFAULT 1,
	highestmodseq INTEGER NOT NULL DEFAULT 1,
	subscribed    INTEGER NOT NULL DEFAULT 0,
	messages      INTEGER NOT NULL DEFAULT 0,
	unseen        INTEGER NOT NULL DEFAULT 0,
	size          INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, name)
) STRICT;

-- messages.flags is a bitmask of the five system flags (see flags.go);
-- keywords is a space-separated list in canonical order (IMAP keywords are
-- atoms and cannot contain a space). envelope and structure come last so
-- reading the other columns never touches their overflow pages.
CREATE TABLE messages (
	id              INTEGER PRIMARY KEY,
	mailbox_id      INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid             INTEGER NOT NULL,
	modseq          INTEGER NOT NULL,
	flags           INTEGER NOT NULL DEFAULT 0,
	keywords        TEXT NOT NULL DEFAULT '',
	internaldate    INTEGER NOT NULL,
	internaldate_tz INTEGER NOT NULL DEFAULT 0,
	size            INTEGER NOT NULL,
	blob_id         TEXT NOT NULL,
	envelope        BLOB,
	structure       BLOB,
	UNIQUE (mailbox_id, uid)
) STRICT;
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
-- A blob is deleted only when no message refers to it any more.
CREATE INDEX messages_blob ON messages(blob_id);

-- tombstones remember expunged UIDs with the MODSEQ of the expunge, for
-- QRESYNC VANISHED (RFC 7162 section 3.2.10).
CREATE TABLE tombstones (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) STRICT, WITHOUT ROWID;
CREATE INDEX tombstones_modseq ON tombstones(mailbox_id, modseq);
