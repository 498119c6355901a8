-- Alert statistics (version 2): one row of facts per alert, without any personal data or
-- content (the Commission reads these), and the figures they add up to per Member State and
-- area, moved in each batch's transaction as the facts change.
CREATE TABLE facts
(
    alert_id                      text PRIMARY KEY,
    area                          text        NOT NULL,
    kind                          text        NOT NULL,
    status                        text        NOT NULL,
    initiating_member_state       text        NOT NULL,
    member_state_of_establishment text,
    recipient_member_states       text[]      NOT NULL,
    objecting_member_states       text[]      NOT NULL,
    drafted_at                    timestamptz NOT NULL,
    broadcast_at                  timestamptz,
    ended_at                      timestamptz,
    -- PQ alerts, once the 3-day deadline passed: whether broadcast in time.
    broadcast_in_time             boolean
);

-- Of the broadcast alerts, per Member State and area: those it sent, then of those still
-- open, closed, withdrawn, and (PQ, deadline passed) broadcast in time or late; those
-- broadcast to it; the closure proposals it objected to. A row whose figures are all zero
-- is deleted.
CREATE TABLE counters
(
    member_state text    NOT NULL,
    area         text    NOT NULL,
    sent         integer NOT NULL,
    received     integer NOT NULL,
    open         integer NOT NULL,
    closed       integer NOT NULL,
    withdrawn    integer NOT NULL,
    objections   integer NOT NULL,
    pq_in_time   integer NOT NULL,
    pq_late      integer NOT NULL,
    PRIMARY KEY (member_state, area)
);

CREATE TABLE alert_states
(
    alert_id text PRIMARY KEY,
    state    jsonb NOT NULL
);

CREATE TABLE sequences
(
    aggregate_id text PRIMARY KEY,
    sequence     bigint NOT NULL
);
