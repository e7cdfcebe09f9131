-- mailport schema, version 9: messages.has_text says whether the message
-- has a message_text row (search text), so that the messages SEARCH must
-- read from their blobs (UnindexedUIDs, usually none) come from a small
-- partial index instead of a probe into message_text for every message of
-- the mailbox on every SEARCH. It is set when the message and its text
-- are added, and copied with them; text is never added or removed apart
-- from its message.
ALTER TABLE messages ADD COLUMN has_text INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET has_text = 1 WHERE id IN (SELECT message_id FROM message_text);
CREATE INDEX messages_unindexed ON messages(mailbox_id, uid) WHERE has_text = 0;
