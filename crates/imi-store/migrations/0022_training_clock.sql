-- The training environment's clock: how far the service clock runs ahead of the system clock,
-- shared by every process on the database. Its one row is written when the database first runs
-- in training mode and is never removed: production mode refuses to start on a database that
-- has it, so training data never become production data.
CREATE TABLE training_clock
(
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    offset_seconds bigint      NOT NULL DEFAULT 0 CHECK (offset_seconds >= 0),
    since          timestamptz NOT NULL DEFAULT now(),
    advanced_at    timestamptz
);

-- The clock never moves backward; every process follows a move through `imi_clock`.
CREATE FUNCTION training_clock_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.offset_seconds < OLD.offset_seconds THEN
    RAISE EXCEPTION 'the training clock never moves backward' USING ERRCODE = 'check_violation';
  END IF;
  PERFORM pg_notify('imi_clock', NEW.offset_seconds::text);
  RETURN NEW;
END $$;

CREATE TRIGGER training_clock_forward BEFORE UPDATE ON training_clock
    FOR EACH ROW EXECUTE FUNCTION training_clock_forward();

-- The marker is forever.
CREATE FUNCTION training_clock_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a database that ran in training mode stays marked so';
END $$;

CREATE TRIGGER training_clock_kept BEFORE DELETE OR TRUNCATE ON training_clock
    FOR EACH STATEMENT EXECUTE FUNCTION training_clock_kept();
