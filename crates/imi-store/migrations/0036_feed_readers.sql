-- Transactions that write no events need not hold the feed back.
--
-- The feed reads only below a horizon under which every transaction has ended (see feed.rs).
-- Taken as the snapshot's xmin, that horizon also waits for transactions that can never add an
-- event, above all the projectors' own batches, which are open most of the time under load:
-- an event committed while a batch is open is then read only by the batch after next.
--
-- A transaction declares itself with imi_writes_no_events(): it takes a shared advisory lock
-- that names it in pg_locks, and a transaction-local setting that the events table checks. The
-- feed's horizon is the oldest in-progress transaction of the snapshot that has not declared
-- itself (or the snapshot's xmax when there is none). That is safe because the declaration is
-- about a transaction id, not a moment: an id found declared can never own an event, whenever
-- the locks were read; one not found (not yet declared, or ended) counts as a possible writer.

CREATE FUNCTION imi_writes_no_events() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  -- A transaction that has written events cannot declare the opposite.
  IF EXISTS (SELECT 1 FROM events WHERE xid = pg_current_xact_id_if_assigned()) THEN
    RAISE EXCEPTION 'this transaction has written events: it cannot declare it writes none'
      USING ERRCODE = 'IM003';
  END IF;
  PERFORM set_config('imi.writes_no_events', 'on', true);
  PERFORM pg_advisory_xact_lock_shared(hashtext('imi.feed'), hashtext('writes no events'));
END $$;

CREATE FUNCTION events_writer_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('imi.writes_no_events', true) = 'on' THEN
    RAISE EXCEPTION 'this transaction declared it writes no events: % refused', TG_OP
      USING ERRCODE = 'IM003';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER events_writer_check BEFORE INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_writer_check();

-- The horizon for a statement's own snapshot. STABLE, so that called inside a statement it sees
-- that statement's snapshot (a VOLATILE function would take newer ones, and a writer that
-- committed in between would be passed unseen). pg_locks is read once; PL/pgSQL keeps the plan
-- (as a SQL function this costs three times as much).
--
-- Besides the declared transactions, those of other databases of the server never write these
-- events either: a backend works in one database, and any lock it holds on a relation or an
-- advisory key names it (0 is the shared catalogs). Transaction ids are counted server-wide, so
-- without this every other database's open transaction would hold this feed back.
CREATE FUNCTION imi_feed_horizon() RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (
    WITH locks AS MATERIALIZED (
      SELECT locktype, database, classid, objid, objsubid, virtualtransaction, transactionid, granted
        FROM pg_locks
    ), here AS (
      SELECT oid FROM pg_database WHERE datname = current_database()
    ), quiet AS (
      SELECT l.virtualtransaction FROM locks l, here
       WHERE l.locktype = 'advisory' AND l.granted AND l.database = here.oid
         AND l.classid::int = hashtext('imi.feed') AND l.objid::int = hashtext('writes no events')
         AND l.objsubid = 2
      UNION
      SELECT l.virtualtransaction FROM locks l, here
       WHERE l.database <> 0 AND l.database <> here.oid
    )
    SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot()))
      FROM pg_snapshot_xip(pg_current_snapshot()) AS x
     WHERE xid(x) <> ALL (
       SELECT l.transactionid FROM locks l
        WHERE l.locktype = 'transactionid' AND l.transactionid IS NOT NULL
          AND l.virtualtransaction IN (SELECT virtualtransaction FROM quiet)));
END $$;
