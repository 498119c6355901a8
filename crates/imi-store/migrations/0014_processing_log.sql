-- The processing log (Regulation (EU) No 1024/2012, Art. 17(3): every processing of personal
-- data is traceable, reads included): one row per opening of an exchange's personal data by
-- the application layer (which exchange, which fields, at which view level, by whom, for which
-- operation). Outside the event log: it records reads, which change nothing in the domain.
-- Append-only, with a hash chain per exchange like the events' (`imi audit verify` checks it).
CREATE TABLE processing_log
(
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT now(),
    -- the data key the values are sealed under: InformationRequest/<id>, Alert/<id>, User/<id>
    exchange         text        NOT NULL,
    -- the entry's place in its exchange's chain, from 1
    sequence         bigint      NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('read', 'write')),
    -- the use case that asked (the purpose), e.g. `request.content`, `attachment.download`
    operation        text        NOT NULL,
    fields           text[]      NOT NULL,
    level            text,
    acting_user      text        NOT NULL,
    acting_authority text,
    prev_hash        bytea,
    hash             bytea       NOT NULL,
    UNIQUE (exchange, sequence)
);
CREATE INDEX processing_log_by_user ON processing_log (acting_user, at);
CREATE INDEX processing_log_by_time ON processing_log (at);

-- The text an entry's hash covers; `imi audit verify` recomputes it outside the database.
CREATE FUNCTION processing_hash(prev bytea, p processing_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(coalesce(prev, ''::bytea) || convert_to(
      p.exchange || chr(31) || p.sequence::text || chr(31) || p.kind || chr(31) ||
      p.operation || chr(31) || array_to_string(p.fields, chr(30)) || chr(31) ||
      coalesce(p.level, '') || chr(31) || p.acting_user || chr(31) ||
      coalesce(p.acting_authority, '') || chr(31) ||
      to_char(p.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8'))
$$;

-- Numbers and chains each entry within its exchange; writers of one exchange take turns.
CREATE FUNCTION processing_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  prev processing_log%ROWTYPE;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('processing_log'), hashtext(NEW.exchange));
  SELECT * INTO prev FROM processing_log
   WHERE exchange = NEW.exchange ORDER BY sequence DESC LIMIT 1;
  IF FOUND THEN
    NEW.sequence := prev.sequence + 1;
    NEW.prev_hash := prev.hash;
  ELSE
    NEW.sequence := 1;
    NEW.prev_hash := NULL;
  END IF;
  NEW.hash := processing_hash(NEW.prev_hash, NEW);
  RETURN NEW;
END $$;

CREATE TRIGGER processing_log_chain BEFORE INSERT ON processing_log
  FOR EACH ROW EXECUTE FUNCTION processing_log_chain();

CREATE FUNCTION processing_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the processing log is append-only: % refused', TG_OP USING ERRCODE = 'IM002';
END $$;

CREATE TRIGGER processing_log_no_update_delete BEFORE UPDATE OR DELETE ON processing_log
  FOR EACH ROW EXECUTE FUNCTION processing_log_append_only();
CREATE TRIGGER processing_log_no_truncate BEFORE TRUNCATE ON processing_log
  FOR EACH STATEMENT EXECUTE FUNCTION processing_log_append_only();
