-- mailport schema, version 3: split domain routing, relay domains and DKIM
-- keys.

-- Split domain routing (SDR): mail for an address of the domain that
-- matches no mailbox or alias goes to sdr_host:sdr_port. '' = off.
ALTER TABLE domains ADD COLUMN sdr_host TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN sdr_port INTEGER NOT NULL DEFAULT 0;

-- relay_domains are accepted and relayed to host:port (backup MX style).
-- The Go code keeps a name out of domains, domain_aliases and
-- relay_domains at once.
CREATE TABLE relay_domains (
	name       TEXT PRIMARY KEY,
	host       TEXT NOT NULL,
	port       INTEGER NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

-- relay_recipients, when a relay domain has any, are the only addresses
-- accepted for it (unknown ones are refused at RCPT).
CREATE TABLE relay_recipients (
	relay   TEXT NOT NULL REFERENCES relay_domains(name) ON DELETE CASCADE,
	address TEXT NOT NULL,
	PRIMARY KEY (relay, address)
) STRICT, WITHOUT ROWID;

-- dkim_keys holds every key of a domain, published until deleted; the
-- partial unique index allows at most one active (signing) key per domain.
CREATE TABLE dkim_keys (
	domain_id   INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
	selector    TEXT NOT NULL,
	algorithm   TEXT NOT NULL,
	private_key BLOB NOT NULL,
	active      INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (domain_id, selector)
) STRICT;
CREATE UNIQUE INDEX dkim_keys_active ON dkim_keys(domain_id) WHERE active = 1;
