-- mailport schema, version 8: SCRAM-SHA-256 (RFC 5802, RFC 7677).
-- accounts.scram_sha256 holds the account's SCRAM credential in Dovecot's
-- form "{SCRAM-SHA-256}iterations,salt,StoredKey,ServerKey" (base64), or ''
-- for an account without one (created by an earlier version, or imported
-- with a hash only): the next PLAIN or LOGIN login derives it (auth's
-- upgrade on login), since the argon2id hash cannot give it.
ALTER TABLE accounts ADD COLUMN scram_sha256 TEXT NOT NULL DEFAULT '';

-- instance_secrets holds random keys made once per installation. The
-- "scram-mock-salt" key derives the salt a SCRAM exchange shows for a login
-- without a credential (RFC 5802 section 5.1), so that it stays the same
-- across restarts as a real account's salt does.
CREATE TABLE instance_secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
INSERT INTO instance_secrets (name, value) VALUES ('scram-mock-salt', randomblob(32));
