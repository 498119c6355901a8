-- The processing log's own retention: entries past it are pruned, oldest first per exchange,
-- and the last pruned entry of each exchange is kept as its anchor (sequence and hash), from
-- which the chain continues and `imi audit verify` starts. Deleting is allowed only to the
-- pruning statement (`imi.pruning` set for its transaction), and only of a chain's prefix.
CREATE TABLE processing_log_anchors
(
    exchange  text PRIMARY KEY,
    sequence  bigint      NOT NULL,
    hash      bytea       NOT NULL,
    pruned_at timestamptz NOT NULL DEFAULT now()
);

-- The chain continues from the anchor once every earlier entry was pruned.
CREATE OR REPLACE FUNCTION processing_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  prev processing_log%ROWTYPE;
  anchor processing_log_anchors%ROWTYPE;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('processing_log'), hashtext(NEW.exchange));
  SELECT * INTO prev FROM processing_log
   WHERE exchange = NEW.exchange ORDER BY sequence DESC LIMIT 1;
  IF FOUND THEN
    NEW.sequence := prev.sequence + 1;
    NEW.prev_hash := prev.hash;
  ELSE
    SELECT * INTO anchor FROM processing_log_anchors WHERE exchange = NEW.exchange;
    IF FOUND THEN
      NEW.sequence := anchor.sequence + 1;
      NEW.prev_hash := anchor.hash;
    ELSE
      NEW.sequence := 1;
      NEW.prev_hash := NULL;
    END IF;
  END IF;
  NEW.hash := processing_hash(NEW.prev_hash, NEW);
  RETURN NEW;
END $$;

-- Deletes pass only while pruning, and only up to the exchange's anchor.
CREATE OR REPLACE FUNCTION processing_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('imi.pruning', true) = 'on' THEN
    IF EXISTS (SELECT 1 FROM processing_log_anchors a
                WHERE a.exchange = OLD.exchange AND OLD.sequence <= a.sequence) THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'the processing log is append-only: % refused', TG_OP USING ERRCODE = 'IM002';
END $$;
