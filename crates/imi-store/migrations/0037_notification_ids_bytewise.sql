-- The notifications projection (version 3) compares its keys byte by byte (COLLATE "C"). The
-- delivery and read state kept beside it is joined to it by notification id: the same
-- collation here keeps those joins on the indexes of both sides (an index serves a comparison
-- only under its own collation).
ALTER TABLE notification_deliveries ALTER COLUMN notification_id TYPE text COLLATE "C";
ALTER TABLE notification_reads ALTER COLUMN notification_id TYPE text COLLATE "C";
