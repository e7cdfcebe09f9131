-- mailport schema, version 5: the length of each message's top-level
-- header, so that IMAP FETCH BODY[HEADER] and the header SEARCH keys read
-- the first header_size bytes of the blob without decoding the cached
-- structure (store.Message.HeaderSize). It is the root part's body offset
-- ("root"."bs") of the structure package mime stores (format "v" 1),
-- whose root header starts at offset 0; 0 means unknown (the structure is
-- of another format, or its offset is out of range), and IMAP then reads
-- the structure as before. New rows get it from the same expression
-- (headerSizeSQL in messages.go).
ALTER TABLE messages ADD COLUMN header_size INTEGER NOT NULL DEFAULT 0;

UPDATE messages SET header_size = CASE
	WHEN json_valid(CAST(structure AS TEXT))
		AND json_extract(CAST(structure AS TEXT), '$.v') = 1
		AND coalesce(json_extract(CAST(structure AS TEXT), '$.root.hs'), 0) = 0
		AND json_type(CAST(structure AS TEXT), '$.root.bs') = 'integer'
		AND json_extract(CAST(structure AS TEXT), '$.root.bs') BETWEEN 1 AND size
	THEN json_extract(CAST(structure AS TEXT), '$.root.bs')
	ELSE 0 END
WHERE structure IS NOT NULL;
