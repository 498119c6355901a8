-- The hash-chain trigger of 0001, leaner for the same chain: it reads only the predecessor's
-- xid and hash (not its whole row, payload included) and hashes the same text inline (a call of
-- event_hash on the row costs as much again). Refusals and hashes are unchanged; event_hash
-- stays the definition `imi audit verify` follows.
CREATE OR REPLACE FUNCTION events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  prev_xid  xid8;
  prev_hash bytea;
BEGIN
  IF NEW.sequence > 1 THEN
    SELECT e.xid, e.hash INTO prev_xid, prev_hash FROM events e
     WHERE e.aggregate_type = NEW.aggregate_type AND e.aggregate_id = NEW.aggregate_id
       AND e.sequence = NEW.sequence - 1;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'event % of %/% has no predecessor', NEW.sequence, NEW.aggregate_type, NEW.aggregate_id
        USING ERRCODE = 'IM001';
    END IF;
    IF prev_xid > NEW.xid THEN
      RAISE EXCEPTION 'event % of %/% would precede its predecessor in the feed', NEW.sequence, NEW.aggregate_type, NEW.aggregate_id
        USING ERRCODE = '40001';
    END IF;
    NEW.prev_hash := prev_hash;
  ELSE
    NEW.prev_hash := NULL;
  END IF;
  NEW.hash := sha256(coalesce(NEW.prev_hash, ''::bytea) || convert_to(
      NEW.aggregate_type || chr(31) || NEW.aggregate_id || chr(31) || NEW.sequence::text || chr(31) ||
      NEW.event_type || chr(31) || NEW.event_version || chr(31) ||
      NEW.payload::text || chr(31) || NEW.metadata::text, 'UTF8'));
  RETURN NEW;
END $$;
