-- The event store: postgres-es's tables, extended with the global feed columns and a
-- per-aggregate hash chain. postgres-es names its insert columns, so the added columns fill
-- from defaults and the trigger below.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    position       bigint GENERATED ALWAYS AS IDENTITY,
    xid            xid8        NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    prev_hash      bytea,
    hash           bytea       NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);
CREATE UNIQUE INDEX events_position ON events (position);
-- The feed reads in (transaction id, position) order.
CREATE INDEX events_feed ON events (xid, position);

CREATE TABLE snapshots
(
    aggregate_type   text                              NOT NULL,
    aggregate_id     text                              NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0) NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                              NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);

-- The text an event's hash covers; `imi audit verify` recomputes it outside the database.
CREATE FUNCTION event_hash(prev bytea, e events) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(coalesce(prev, ''::bytea) || convert_to(
      e.aggregate_type || chr(31) || e.aggregate_id || chr(31) || e.sequence::text || chr(31) ||
      e.event_type || chr(31) || e.event_version || chr(31) ||
      e.payload::text || chr(31) || e.metadata::text, 'UTF8'))
$$;

-- Chains each event to its predecessor. It also refuses an event whose predecessor is missing,
-- or was written by a later transaction: then feed order ((xid, position)) could differ from
-- sequence order, and a projector could see sequence n+1 before n.
CREATE FUNCTION events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  prev events%ROWTYPE;
BEGIN
  IF NEW.sequence > 1 THEN
    SELECT * INTO prev FROM events
     WHERE aggregate_type = NEW.aggregate_type AND aggregate_id = NEW.aggregate_id
       AND sequence = NEW.sequence - 1;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'event % of %/% has no predecessor', NEW.sequence, NEW.aggregate_type, NEW.aggregate_id
        USING ERRCODE = 'IM001';
    END IF;
    IF prev.xid > NEW.xid THEN
      RAISE EXCEPTION 'event % of %/% would precede its predecessor in the feed', NEW.sequence, NEW.aggregate_type, NEW.aggregate_id
        USING ERRCODE = '40001';
    END IF;
    NEW.prev_hash := prev.hash;
  ELSE
    NEW.prev_hash := NULL;
  END IF;
  NEW.hash := event_hash(NEW.prev_hash, NEW);
  RETURN NEW;
END $$;

CREATE TRIGGER events_chain BEFORE INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION events_chain();

CREATE FUNCTION events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only: % refused', TG_OP USING ERRCODE = 'IM002';
END $$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
