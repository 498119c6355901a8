-- Data keys for sealed personal data (crypto-shredding). One key per exchange, wrapped
-- (AES-256-GCM) by the master key from the configuration; `master_key_id` tells which master
-- wrapped it, so a rotation can find the keys still to re-wrap. Unlike events this table is
-- mutable: erasing a key sets `wrapped` and `wrap_nonce` to NULL, which makes every value sealed
-- under it unreadable. The row stays as a tombstone, so a later seal under the same key id is
-- refused instead of silently creating a new key.
CREATE TABLE data_keys
(
    key_id         text PRIMARY KEY CHECK (key_id <> ''),
    wrapped        bytea,
    wrap_nonce     bytea,
    master_key_id  text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    erased_at      timestamptz,
    erased_by      text,
    erasure_reason text,
    -- A key is either live (wrapped material, not erased) or a tombstone (no material, erased).
    CONSTRAINT data_keys_live_or_erased CHECK (
        (erased_at IS NULL AND wrapped IS NOT NULL AND wrap_nonce IS NOT NULL)
        OR (erased_at IS NOT NULL AND wrapped IS NULL AND wrap_nonce IS NULL))
);

-- Tombstones are final: an erased key is never brought back or re-keyed, and rows are never
-- deleted (a missing row would turn "erased" into "unknown key"). Re-wrapping a live key under a
-- new master key (an UPDATE of wrapped, wrap_nonce, master_key_id) stays allowed.
CREATE FUNCTION data_keys_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.erased_at IS NOT NULL THEN
      RAISE EXCEPTION 'data key % was erased: tombstones are final', OLD.key_id
        USING ERRCODE = 'IM003';
    END IF;
    IF NEW.key_id <> OLD.key_id THEN
      RAISE EXCEPTION 'data key ids do not change' USING ERRCODE = 'IM003';
    END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'data keys are erased, never deleted: % refused', TG_OP USING ERRCODE = 'IM003';
END $$;

CREATE TRIGGER data_keys_guard BEFORE UPDATE OR DELETE ON data_keys
  FOR EACH ROW EXECUTE FUNCTION data_keys_guard();
CREATE TRIGGER data_keys_no_truncate BEFORE TRUNCATE ON data_keys
  FOR EACH STATEMENT EXECUTE FUNCTION data_keys_guard();
