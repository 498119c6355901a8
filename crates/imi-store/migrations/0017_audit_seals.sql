-- Seals against the deletion of whole tails: the hash chains prove each aggregate's events,
-- but removing an aggregate's last events, or a whole aggregate, leaves valid chains. A seal
-- records the chain heads changed by the transactions its snapshot sees committed and the
-- previous seal's did not; seals chain among themselves, so the latest seal's hash (printed by
-- `imi audit seal` for publication elsewhere) commits to every head ever sealed. `imi audit
-- verify` checks that each sealed head still is in the log with its hash.
CREATE TABLE audit_seals
(
    seal          bigint PRIMARY KEY,
    -- the snapshot (pg_snapshot as text) the seal saw: what it covers is final
    snapshot      text        NOT NULL,
    sealed_at     timestamptz NOT NULL DEFAULT now(),
    heads_changed bigint      NOT NULL,
    prev_hash     bytea,
    hash          bytea       NOT NULL
);

CREATE TABLE audit_seal_heads
(
    seal           bigint NOT NULL REFERENCES audit_seals (seal),
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    sequence       bigint NOT NULL,
    hash           bytea  NOT NULL,
    PRIMARY KEY (seal, aggregate_type, aggregate_id)
);

CREATE FUNCTION audit_seals_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'seals are append-only: % refused', TG_OP USING ERRCODE = 'IM002';
END $$;

CREATE TRIGGER audit_seals_no_update_delete BEFORE UPDATE OR DELETE ON audit_seals
  FOR EACH ROW EXECUTE FUNCTION audit_seals_append_only();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
  FOR EACH STATEMENT EXECUTE FUNCTION audit_seals_append_only();
CREATE TRIGGER audit_seal_heads_no_update_delete BEFORE UPDATE OR DELETE ON audit_seal_heads
  FOR EACH ROW EXECUTE FUNCTION audit_seals_append_only();
CREATE TRIGGER audit_seal_heads_no_truncate BEFORE TRUNCATE ON audit_seal_heads
  FOR EACH STATEMENT EXECUTE FUNCTION audit_seals_append_only();
