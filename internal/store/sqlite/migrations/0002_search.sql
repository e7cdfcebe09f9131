-- mailport schema, version 2: the text IMAP SEARCH looks in, and its
-- full-text index.
--
-- message_text holds the decoded header and text-part contents of a
-- message, already lower-cased by the Go code (SQLite's lower() folds only
-- ASCII), so that instr() on it is a case-insensitive substring test
-- (RFC 9051 section 6.4.4). A message without text has no row. Rows are
-- only inserted and deleted, never updated; they go with their message
-- through the foreign key, which also covers deleting a mailbox, account
-- or domain.
CREATE TABLE message_text (
	message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	header     TEXT NOT NULL,
	body       TEXT NOT NULL
) STRICT;

-- message_fts indexes message_text by trigrams, keyed by the message id:
-- a phrase query of three or more characters finds the candidates whose
-- text contains every trigram of the needle in sequence, which SearchText
-- then confirms with instr(). It is contentless (the text already lives in
-- message_text) with contentless_delete, so removing a message marks its
-- rowid deleted instead of re-tokenizing the text to find its entries.
CREATE VIRTUAL TABLE message_fts USING fts5(
	header, body,
	content = '', contentless_delete = 1, tokenize = 'trigram'
);

-- The triggers keep the index in step with message_text whichever way a
-- row comes or goes, including the cascades from messages, mailboxes,
-- accounts and domains.
CREATE TRIGGER message_text_insert AFTER INSERT ON message_text BEGIN
	INSERT INTO message_fts (rowid, header, body) VALUES (new.message_id, new.header, new.body);
END;
CREATE TRIGGER message_text_delete AFTER DELETE ON message_text BEGIN
	DELETE FROM message_fts WHERE rowid = old.message_id;
END;
