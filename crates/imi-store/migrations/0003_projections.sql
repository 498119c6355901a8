-- Projection bookkeeping: one row per projection and slot. `live` serves queries from the
-- schema named after the projection; `shadow` is a blue/green rebuild in `<name>__build`.
-- The checkpoint (xid, position) moves in the same transaction as the applied batch.
CREATE TABLE projections
(
    name           text    NOT NULL,
    slot           text    NOT NULL CHECK (slot IN ('live', 'shadow')),
    version        integer NOT NULL,
    xid            bigint  NOT NULL DEFAULT 0,
    position       bigint  NOT NULL DEFAULT 0,
    events_applied bigint  NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, slot)
);
