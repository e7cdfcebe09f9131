-- mailport schema, version 6: message_text.field_lines says the header
-- text holds exactly one line per header field, as mime.ExtractText now
-- writes it (a line break decoded from an encoded word becomes a space),
-- and was not cut at the index's size bound. For those messages IMAP
-- SEARCH FROM/SUBJECT/HEADER ... is answered from the stored text alone
-- (SearchHeaderField); rows from before this version keep 0 and their
-- messages are checked against the blob as before.
ALTER TABLE message_text ADD COLUMN field_lines INTEGER NOT NULL DEFAULT 0;
